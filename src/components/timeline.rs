//! The per-call timeline of the first read session: one row per program invocation.

use iterscope_emulator::scenario::CallRecord;
use yew::prelude::*;

use super::hex;
use crate::state::RunOutcome;

/// Props of [`Timeline`].
#[derive(Debug, Properties, PartialEq)]
pub struct TimelineProps {
    /// The last run's outcome, if any (nothing is shown without a report).
    pub outcome: Option<RunOutcome>,
}

/// A table with one `data-testid="element-row"` per call; the final NULL call has
/// `data-stop="true"`, re-runs after a buffer overflow are marked.
#[function_component(Timeline)]
pub fn timeline(props: &TimelineProps) -> Html {
    let Some(Ok(report)) = props.outcome.as_ref().map(RunOutcome::result) else {
        return html! {};
    };
    if report.calls.is_empty() {
        return html! {};
    }
    html! {
        <div class="timeline">
            <h3 id="timeline-heading">{ "Calls" }</h3>
            <table data-testid="timeline" aria-labelledby="timeline-heading">
                <thead>
                    <tr>
                        <th scope="col">{ "call" }</th>
                        <th scope="col">{ "seq_num" }</th>
                        <th scope="col">{ "key" }</th>
                        <th scope="col">{ "value before" }</th>
                        <th scope="col">{ "value after" }</th>
                        <th scope="col">{ "output" }</th>
                        <th scope="col">{ "ret" }</th>
                    </tr>
                </thead>
                <tbody>
                    { for report.calls.iter().enumerate().map(|(i, call)| row(i, call)) }
                </tbody>
            </table>
        </div>
    }
}

fn row(index: usize, call: &CallRecord) -> Html {
    let bytes = |b: &Option<Vec<u8>>| b.as_deref().map_or_else(|| "NULL".to_owned(), hex);
    html! {
        <tr
            data-testid="element-row"
            class={classes!(call.is_stop.then_some("is-stop"), call.rerun.then_some("is-rerun"))}
            data-call={index.to_string()}
            data-seq-num={call.seq_num.to_string()}
            data-stop={call.is_stop.then_some("true")}
            data-rerun={call.rerun.then_some("true")}
        >
            <td>{ index }{ if call.rerun { " (re-run)" } else { "" } }</td>
            <td>{ call.seq_num }</td>
            <td><code>{ bytes(&call.key) }</code></td>
            <td><code>{ bytes(&call.value_before) }</code></td>
            <td><code>{ bytes(&call.value_after) }</code></td>
            <td><code class="call-output">{ String::from_utf8_lossy(&call.output).into_owned() }</code></td>
            <td>{ call.ret }</td>
        </tr>
    }
}
