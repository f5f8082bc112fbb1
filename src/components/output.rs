//! What `read()` on the iterator returned: status, read statistics and the bytes as text.

use iterscope_emulator::scenario::Report;
use yew::prelude::*;

use super::{AttachResult, VerifierLog};
use crate::state::RunOutcome;

/// Props of [`Output`].
#[derive(Debug, Properties, PartialEq)]
pub struct OutputProps {
    /// Whether a run is in flight.
    pub running: bool,
    /// The last run's outcome, if any.
    pub outcome: Option<RunOutcome>,
}

/// The verifier step, the attach step, then `<pre data-testid="seq-output">` with the first read
/// session's bytes (present, and empty, when nothing ran).
#[function_component(Output)]
pub fn output(props: &OutputProps) -> Html {
    let body = match (&props.outcome, props.running) {
        (_, true) => html! { <p class="output-hint" role="status">{ "Running…" }</p> },
        (None, false) => html! {
            <p class="output-hint">{ "Press Run to iterate over the map." }</p>
        },
        (Some(outcome), false) => match outcome.result() {
            Ok(report) => report_view(report),
            Err(error) => html! {
                <p class="run-error" data-testid="run-error" role="alert">
                    { "Error: " }{ error.to_string() }
                </p>
            },
        },
    };
    html! { <div class="output" aria-live="polite">{ body }</div> }
}

fn report_view(report: &Report) -> Html {
    let text = String::from_utf8_lossy(report.output()).into_owned();
    html! {
        <>
            <VerifierLog
                load={report.load.clone()}
                verifier_error={report.verifier_error.clone()}
                load_error={report.load_error.clone().map(AttrValue::from)}
                log={report.verifier_log.clone()}
            />
            <AttachResult
                load={report.load.clone()}
                attach={report.attach.clone().map(AttrValue::from)}
            />
            if !report.map_update_failures.is_empty() {
                <ul class="map-update-failures" data-testid="map-update-failures">
                    { for report.map_update_failures.iter().map(|f| html! {
                        <li>{ format!("{} {}: {}", f.kind, f.index, f.errno) }</li>
                    }) }
                </ul>
            }
            <ul class="read-sessions">
                { for report.reads.iter().enumerate().map(|(i, read)| html! {
                    <li data-testid="read-session">
                        { format!(
                            "read #{}: read_size {}, {} bytes in {} read() calls",
                            i + 1, read.read_size, read.bytes.len(), read.read_calls
                        ) }
                        if let Some(errno) = read.read_error {
                            { format!(", then {errno}") }
                        }
                    </li>
                }) }
            </ul>
            <h3 id="seq-output-heading">{ "Output (first read session)" }</h3>
            <pre class="code seq-output" data-testid="seq-output"
                aria-labelledby="seq-output-heading" tabindex="0">{ text }</pre>
        </>
    }
}
