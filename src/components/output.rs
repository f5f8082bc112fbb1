//! The run's results: the verifier step, the attach step, map update failures, the read(2)
//! calls and the seq output as text or hex — growing as the run is stepped.
//!
//! Bytes still in the seq_file buffer (written by the program, not yet returned by a read)
//! are shown after the returned bytes, marked as pending. Very large outputs show their last
//! [`SHOWN_BYTES`] bytes (text) or first ones (hex) with a note; the whole output can be
//! downloaded.

use std::fmt::Write;

use yew::prelude::*;

use super::{AttachResult, VerifierLog};
use crate::engine::LiveHandle;
use crate::state::OutputView;

/// The most output bytes put in the page at once.
pub const SHOWN_BYTES: usize = 64 * 1024;

/// A hex dump: `00000010  68 65 6c 6c 6f 0a …  |hello.|`, 16 bytes per line, offsets from
/// `base`.
pub fn hexdump(bytes: &[u8], base: usize) -> String {
    let mut s = String::with_capacity(bytes.len() * 4 + 16);
    for (i, chunk) in bytes.chunks(16).enumerate() {
        let _ = write!(s, "{:08x} ", base + i * 16);
        for k in 0..16 {
            if k == 8 {
                s.push(' ');
            }
            match chunk.get(k) {
                Some(b) => {
                    let _ = write!(s, " {b:02x}");
                }
                None => s.push_str("   "),
            }
        }
        s.push_str("  |");
        s.extend(chunk.iter().map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '.'
            }
        }));
        s.push_str("|\n");
    }
    s
}

/// Props of [`Output`].
#[derive(Debug, Properties, PartialEq)]
pub struct OutputProps {
    /// The live run.
    pub live: LiveHandle,
    /// Text or hex.
    pub view: OutputView,
    /// Switches the view.
    pub on_view: Callback<OutputView>,
    /// Downloads the whole output.
    pub on_download: Callback<()>,
    /// The editor line of the instruction a rejected load failed at.
    #[prop_or_default]
    pub failing_line: Option<usize>,
    /// Shows a line in the editor.
    #[prop_or_default]
    pub on_goto: Callback<usize>,
}

/// The results panel.
#[function_component(Output)]
pub fn output(props: &OutputProps) -> Html {
    let s = props.live.view();
    let run = &s.run;
    let out = run.output();
    let pending = run.seq_buffered();
    let view_button = |v: OutputView, label: &'static str| {
        let cb = props.on_view.clone();
        html! {
            <button type="button" role="tab" aria-selected={(props.view == v).to_string()}
                class={classes!((props.view == v).then_some("is-active"))}
                onclick={Callback::from(move |_: MouseEvent| cb.emit(v))}>{ label }</button>
        }
    };
    let (shown, note) = match props.view {
        OutputView::Text if out.len() > SHOWN_BYTES => (
            String::from_utf8_lossy(&out[out.len() - SHOWN_BYTES..]).into_owned(),
            Some(format!(
                "Showing the last {} KiB of {} bytes.",
                SHOWN_BYTES / 1024,
                out.len()
            )),
        ),
        OutputView::Text => (String::from_utf8_lossy(out).into_owned(), None),
        OutputView::Hex => {
            let n = out.len().min(SHOWN_BYTES / 4);
            (
                hexdump(&out[..n], 0),
                (n < out.len()).then(|| format!("Showing the first {n} of {} bytes.", out.len())),
            )
        }
    };
    let attached = run.attach() == Some("ok");
    html! {
        <div class="output" aria-live="polite">
            <VerifierLog
                load={AttrValue::from(run.load().to_owned())}
                verifier_error={AttrValue::from(run.verifier_error().to_owned())}
                load_error={run.load_error().map(|e| AttrValue::from(e.to_owned()))}
                log={AttrValue::from(run.verifier_log().to_owned())}
                failing_line={props.failing_line}
                on_goto={props.on_goto.clone()}
            />
            <AttachResult
                load={AttrValue::from(run.load().to_owned())}
                attach={run.attach().map(|a| AttrValue::from(a.to_owned()))}
            />
            if !run.map_update_failures().is_empty() {
                <ul class="map-update-failures" data-testid="map-update-failures">
                    { for run.map_update_failures().iter().map(|f| html! {
                        <li>{ format!("map {} {}: {}", f.kind, f.index, f.errno) }</li>
                    }) }
                </ul>
            }
            if attached {
                <ol class="read-calls" data-testid="read-calls" aria-label="read(2) calls">
                    { for run.reads().iter().map(|r| html! {
                        <li data-testid="read-call">{ match r.result {
                            Ok(0) => "read() = 0 (end of file)".to_owned(),
                            Ok(n) => format!("read() = {n}"),
                            Err(e) => format!("read() = -1, {}", e.describe()),
                        } }</li>
                    }) }
                </ol>
                <div class="output-header">
                    <h3 id="seq-output-heading">{ "Output" }</h3>
                    <div role="tablist" aria-label="Output view" class="output-views">
                        { view_button(OutputView::Text, "Text") }
                        { view_button(OutputView::Hex, "Hex") }
                    </div>
                    <button type="button" data-testid="download-output" disabled={out.is_empty()}
                        onclick={props.on_download.reform(|_: MouseEvent| ())}>{ "Download" }</button>
                </div>
                if let Some(note) = note { <p class="output-hint">{ note }</p> }
                <pre class="code seq-output" data-testid="seq-output"
                    aria-labelledby="seq-output-heading" tabindex="0">{ shown }</pre>
                if !pending.is_empty() {
                    <pre class="code seq-pending" data-testid="seq-pending"
                        title="In the seq_file buffer: written by the program, not yet returned by read()">
                        { match props.view {
                            OutputView::Text => String::from_utf8_lossy(pending).into_owned(),
                            OutputView::Hex => hexdump(&pending[..pending.len().min(4096)], 0),
                        } }
                    </pre>
                }
            }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::hexdump;

    #[test]
    fn hexdump_has_offsets_hex_and_ascii() {
        let d = hexdump(b"hello, world\n\x00\x01ABCD", 0);
        let lines: Vec<&str> = d.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0],
            "00000000  68 65 6c 6c 6f 2c 20 77  6f 72 6c 64 0a 00 01 41  |hello, world...A|"
        );
        assert!(lines[1].starts_with("00000010  42 43 44"));
        assert!(lines[1].ends_with("|BCD|"));
        assert_eq!(hexdump(&[], 0), "");
    }
}
