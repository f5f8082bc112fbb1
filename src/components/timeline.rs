//! The per-call timeline of the first read session: one row per program invocation,
//! virtualised so a million rows scroll smoothly, and the details of a selected call.
//!
//! Only the rows in view (plus a margin) are in the DOM; spacer rows above and below keep the
//! scrollbar true to the full length. Rows have a fixed height ([`ROW_PX`]). While a run
//! grows the timeline, the view follows the newest row unless the user scrolled away.
//!
//! Not here: typed (BTF) decoding of keys and values — rows show hex.

use iterscope_emulator::helpers::ids::HelperId;
use iterscope_emulator::live::CallView;
use web_sys::Element;
use yew::prelude::*;

use super::hex;
use crate::engine::{LiveHandle, Session};

/// Height of one row in pixels (kept in sync with `.timeline-row` in the CSS).
pub const ROW_PX: usize = 24;

/// Height of the scrolling viewport in pixels.
const VIEWPORT_PX: usize = 24 * 16;

/// Rows rendered beyond the viewport on each side.
const OVERSCAN: usize = 8;

/// The rows `[start, end)` to render for a scroll offset.
pub fn window(scroll_top: usize, total: usize) -> (usize, usize) {
    let first = (scroll_top / ROW_PX).saturating_sub(OVERSCAN);
    let end = (first + VIEWPORT_PX / ROW_PX + 2 * OVERSCAN + 1).min(total);
    (first.min(end), end)
}

/// Props of [`Timeline`].
#[derive(Debug, Properties, PartialEq)]
pub struct TimelineProps {
    /// The live run.
    pub live: LiveHandle,
    /// The row whose details are open.
    pub selected: Option<usize>,
    /// Opens (Some) or closes (None) a row's details.
    pub on_select: Callback<Option<usize>>,
    /// Opens the instruction trace of a call.
    pub on_trace: Callback<usize>,
}

/// `NULL`, or the text `show` gives, cut at 48 characters.
fn bytes_cell(b: Option<&[u8]>, show: &dyn Fn(&[u8]) -> String) -> String {
    match b {
        None => "NULL".into(),
        Some(b) => {
            let text = show(b);
            match text.char_indices().nth(48) {
                Some((cut, _)) => format!("{}…", &text[..cut]),
                None => text,
            }
        }
    }
}

/// Printable text of a call's output: escapes for control bytes, at most 80 characters.
pub fn output_cell(out: &[u8]) -> String {
    let mut s = String::new();
    for ch in String::from_utf8_lossy(out).chars() {
        if s.chars().count() >= 80 {
            s.push('…');
            break;
        }
        match ch {
            '\n' => s.push_str("\\n"),
            '\t' => s.push_str("\\t"),
            c if c.is_control() => s.push_str(&format!("\\x{:02x}", c as u32)),
            c => s.push(c),
        }
    }
    s
}

fn helper_name(id: u32) -> String {
    HelperId(id)
        .name()
        .map_or_else(|| format!("#{id}"), str::to_owned)
}

fn row(
    index: usize,
    c: &CallView<'_>,
    selected: bool,
    on_select: &Callback<Option<usize>>,
    session: &Session,
) -> Html {
    let key = |b: &[u8]| session.show_key(b);
    let val = |b: &[u8]| session.show_value(b);
    let onclick = {
        let cb = on_select.clone();
        Callback::from(move |_: MouseEvent| cb.emit(if selected { None } else { Some(index) }))
    };
    let value = match (c.value_before, c.value_after) {
        (Some(b), Some(a)) if b != a => {
            format!(
                "{} → {}",
                bytes_cell(Some(b), &val),
                bytes_cell(Some(a), &val)
            )
        }
        (b, _) => bytes_cell(b, &val),
    };
    html! {
        <tr
            data-testid="element-row"
            class={classes!(
                "timeline-row",
                c.is_stop.then_some("is-stop"),
                c.rerun.then_some("is-rerun"),
                selected.then_some("is-selected"),
            )}
            data-call={index.to_string()}
            data-seq-num={c.seq_num.to_string()}
            data-stop={c.is_stop.then_some("true")}
            data-rerun={c.rerun.then_some("true")}
            aria-selected={selected.to_string()}
            {onclick}
        >
            <td>{ index }{ if c.rerun { " ↻" } else { "" } }</td>
            <td>{ c.seq_num }</td>
            <td>{ c.read + 1 }</td>
            <td title={c.key.map(hex)}><code>{ bytes_cell(c.key, &key) }</code></td>
            <td><code>{ value }</code></td>
            <td class={classes!(c.discarded.then_some("is-discarded"))}>
                <code>{ output_cell(c.output) }</code>
            </td>
            <td>{ c.helpers.len() }</td>
            <td>{ c.ret }</td>
        </tr>
    }
}

/// The details of one call: everything the row abbreviates.
fn details(index: usize, c: &CallView<'_>, session: &Session, on_trace: &Callback<usize>) -> Html {
    let full = |b: Option<&[u8]>| b.map_or_else(|| "NULL".to_owned(), hex);
    let typed = |b: Option<&[u8]>, show: &dyn Fn(&[u8]) -> String| match b {
        Some(b) if show(b) != hex(b) => format!(" = {}", show(b)),
        _ => String::new(),
    };
    let key = |b: &[u8]| session.show_key(b);
    let val = |b: &[u8]| session.show_value(b);
    html! {
        <div class="call-details" data-testid="call-details" aria-live="polite">
            <h4>{ format!("Call {index}{}", if c.is_stop { " (final call, NULL key and value)" } else { "" }) }</h4>
            <button type="button" data-testid="open-trace"
                onclick={on_trace.reform(move |_: MouseEvent| index)}>
                { "Step through its instructions" }
            </button>
            <dl>
                <dt>{ "seq_num" }</dt><dd>{ c.seq_num }</dd>
                <dt>{ "read(2)" }</dt><dd>{ format!("#{}", c.read + 1) }</dd>
                <dt>{ "key" }</dt>
                <dd><code>{ full(c.key) }{ typed(c.key, &key) }</code></dd>
                <dt>{ "value before" }</dt>
                <dd><code>{ full(c.value_before) }{ typed(c.value_before, &val) }</code></dd>
                <dt>{ "value after" }</dt>
                <dd><code>{ full(c.value_after) }{ typed(c.value_after, &val) }</code></dd>
                <dt>{ "output" }</dt>
                <dd>
                    <code>{ format!("{} bytes: {}", c.output.len(), output_cell(c.output)) }</code>
                    if c.discarded { <span class="badge">{ " discarded (overflow or retry)" }</span> }
                    if c.rerun { <span class="badge">{ " re-run" }</span> }
                </dd>
                <dt>{ "return" }</dt><dd>{ c.ret }</dd>
                <dt>{ "helper calls" }</dt>
                <dd>
                    if c.helpers.is_empty() { { "none" } } else {
                        <ol class="helper-calls">
                            { for c.helpers.iter().map(|h| html! {
                                <li><code>{ format!(
                                    "{}({:#x}, {:#x}, {:#x}, {:#x}, {:#x}) = {}",
                                    helper_name(h.id), h.args[0], h.args[1], h.args[2],
                                    h.args[3], h.args[4], h.ret as i64
                                ) }</code></li>
                            }) }
                        </ol>
                    }
                </dd>
                if let Some(f) = c.fault {
                    <dt>{ "fault" }</dt>
                    <dd class="run-error">{ format!("{}: {}", helper_name(f.helper), f.what) }</dd>
                }
            </dl>
        </div>
    }
}

/// The virtualised table and the selected call's details.
#[function_component(Timeline)]
pub fn timeline(props: &TimelineProps) -> Html {
    let scroll_top = use_state(|| 0usize);
    let follow = use_mut_ref(|| true);
    let viewport = use_node_ref();
    let session = props.live.view();
    let log = session.run.log();
    let total = log.len();
    {
        // Follow the newest row while the user has not scrolled away.
        let viewport = viewport.clone();
        let follow = follow.clone();
        let scroll_top = scroll_top.clone();
        use_effect_with(total, move |&total| {
            if *follow.borrow() && total > 0 {
                if let Some(el) = viewport.cast::<Element>() {
                    el.set_scroll_top(el.scroll_height());
                    scroll_top.set(el.scroll_top().max(0) as usize);
                }
            }
        });
    }
    if total == 0 {
        return html! {};
    }
    let onscroll = {
        let scroll_top = scroll_top.clone();
        let follow = follow.clone();
        Callback::from(move |e: Event| {
            if let Some(el) = e.target_dyn_into::<Element>() {
                let top = el.scroll_top().max(0) as usize;
                let bottom = top + el.client_height().max(0) as usize;
                *follow.borrow_mut() = bottom + 2 * ROW_PX >= el.scroll_height().max(0) as usize;
                scroll_top.set(top);
            }
        })
    };
    let (start, end) = window(*scroll_top, total);
    let selected = props.selected.and_then(|i| log.get(i).map(|c| (i, c)));
    html! {
        <div class="timeline">
            <h3 id="timeline-heading">{ format!("Calls ({total})") }</h3>
            <div class="timeline-viewport" ref={viewport} {onscroll}
                style={format!("max-height: {VIEWPORT_PX}px")} tabindex="0"
                aria-labelledby="timeline-heading">
                <table data-testid="timeline" aria-rowcount={total.to_string()}>
                    <thead>
                        <tr>
                            <th scope="col">{ "call" }</th>
                            <th scope="col">{ "seq_num" }</th>
                            <th scope="col">{ "read" }</th>
                            <th scope="col">{ "key" }</th>
                            <th scope="col">{ "value (before → after)" }</th>
                            <th scope="col">{ "output" }</th>
                            <th scope="col" title="helper calls">{ "helpers" }</th>
                            <th scope="col">{ "ret" }</th>
                        </tr>
                    </thead>
                    <tbody>
                        <tr class="timeline-spacer" style={format!("height: {}px", start * ROW_PX)} />
                        { for (start..end).filter_map(|i| log.get(i).map(|c| {
                            row(i, &c, props.selected == Some(i), &props.on_select, &session)
                        })) }
                        <tr class="timeline-spacer"
                            style={format!("height: {}px", (total - end) * ROW_PX)} />
                    </tbody>
                </table>
            </div>
            if let Some((i, c)) = selected { { details(i, &c, &session, &props.on_trace) } }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_covers_the_viewport_with_margins() {
        assert_eq!(window(0, 0), (0, 0));
        assert_eq!(window(0, 5), (0, 5));
        let (s, e) = window(0, 1_000_000);
        assert_eq!((s, e), (0, 16 + 2 * OVERSCAN + 1));
        let (s, e) = window(500_000 * ROW_PX, 1_000_000);
        assert_eq!(s, 500_000 - OVERSCAN);
        assert!(e > 500_000 + 16 && e - s < 50);
        assert_eq!(window(2_000_000 * ROW_PX, 10), (10, 10));
    }

    #[test]
    fn output_cells_escape_and_truncate() {
        assert_eq!(output_cell(b"a\tb\n"), "a\\tb\\n");
        assert_eq!(output_cell(&[1]), "\\x01");
        let long = vec![b'x'; 200];
        assert_eq!(output_cell(&long).chars().count(), 81);
    }
}
