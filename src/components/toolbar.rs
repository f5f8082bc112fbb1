//! The run controls: Verify, Step, Run, Cancel, Reset, the progress of the run, the emulated
//! CPU count and the read(2) size.

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::state::{Goal, CPU_CHOICES, MAX_READ_SIZE};

/// Props of [`Toolbar`].
#[derive(Debug, Properties, PartialEq)]
pub struct ToolbarProps {
    /// What the engine is doing, if anything.
    pub busy: Option<Goal>,
    /// Whether a further call can run (a live run that is not finished, or none yet).
    pub can_step: bool,
    /// Calls done and the estimate of all calls, once a run is live.
    pub progress: Option<(u64, u64)>,
    /// The emulated CPU count.
    pub ncpus: u32,
    /// The first read session's read(2) size.
    pub read_size: usize,
    /// Called with a newly picked CPU count.
    pub on_cpus: Callback<u32>,
    /// Called with a new read size.
    pub on_read_size: Callback<usize>,
    /// Verify (load and attach) from scratch.
    pub on_verify: Callback<()>,
    /// Run the next call.
    pub on_step: Callback<()>,
    /// Run to the end.
    pub on_run: Callback<()>,
    /// Stop a run to the end.
    pub on_cancel: Callback<()>,
    /// Drop the live run.
    pub on_reset: Callback<()>,
}

/// `calls 12,345 / 100,001 (12%)`.
pub fn progress_text(done: u64, estimated: u64) -> String {
    if estimated == 0 {
        return format!("{done} calls");
    }
    let pct = (done.min(estimated) * 100) / estimated;
    format!("{done} / {estimated} calls ({pct}%)")
}

/// The toolbar.
#[function_component(Toolbar)]
pub fn toolbar(props: &ToolbarProps) -> Html {
    let busy = props.busy.is_some();
    let click = |cb: &Callback<()>| cb.reform(|_: MouseEvent| ());
    let on_cpus = {
        let cb = props.on_cpus.clone();
        Callback::from(move |e: Event| {
            if let Some(n) = e
                .target_dyn_into::<HtmlSelectElement>()
                .and_then(|s| s.value().parse().ok())
            {
                cb.emit(n);
            }
        })
    };
    let on_read_size = {
        let cb = props.on_read_size.clone();
        Callback::from(move |e: Event| {
            if let Some(n) = e
                .target_dyn_into::<HtmlInputElement>()
                .and_then(|s| s.value().trim().parse().ok())
            {
                cb.emit(n);
            }
        })
    };
    let (done, estimated) = props.progress.unwrap_or((0, 0));
    let running_to_end = props.busy == Some(Goal::ToEnd);
    html! {
        <div class="toolbar" role="toolbar" aria-label="Run controls">
            <div class="toolbar-buttons">
                <button type="button" data-testid="verify-button" disabled={busy}
                    title="Load the program through the verifier and attach it"
                    onclick={click(&props.on_verify)}>{ "Verify" }</button>
                <button type="button" data-testid="step-button"
                    disabled={busy || !props.can_step}
                    title="Run the program on the next element"
                    onclick={click(&props.on_step)}>{ "Step" }</button>
                <button type="button" class="run-button" data-testid="run-button"
                    disabled={busy} aria-busy={running_to_end.to_string()}
                    title="Run to the end (Ctrl+Enter in the editor)"
                    onclick={click(&props.on_run)}>
                    { if running_to_end { "Running…" } else { "Run" } }
                </button>
                <button type="button" data-testid="cancel-button" disabled={!busy}
                    onclick={click(&props.on_cancel)}>{ "Cancel" }</button>
                <button type="button" data-testid="reset-button" disabled={busy}
                    title="Forget the run (maps are refilled on the next run)"
                    onclick={click(&props.on_reset)}>{ "Reset" }</button>
            </div>
            <div class="toolbar-options">
                <label for="cpu-count">{ "CPUs" }</label>
                <select id="cpu-count" data-testid="cpu-count" onchange={on_cpus}>
                    { for CPU_CHOICES.iter().map(|&n| html! {
                        <option value={n.to_string()} selected={n == props.ncpus}>{ n }</option>
                    }) }
                </select>
                <label for="read-size">{ "read(2) size" }</label>
                <input id="read-size" data-testid="read-size" type="number" min="1"
                    max={MAX_READ_SIZE.to_string()} value={props.read_size.to_string()}
                    onchange={on_read_size} />
            </div>
            if props.progress.is_some() || busy {
                <div class="toolbar-progress">
                    <progress data-testid="progress" max={estimated.max(1).to_string()}
                        value={done.min(estimated.max(1)).to_string()}
                        aria-label="Calls run so far" />
                    <span class="progress-text" role="status">
                        { if props.progress.is_none() { "Loading…".to_owned() }
                          else { progress_text(done, estimated) } }
                    </span>
                </div>
            }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::progress_text;

    #[test]
    fn progress_reads_naturally() {
        assert_eq!(progress_text(0, 0), "0 calls");
        assert_eq!(progress_text(50, 201), "50 / 201 calls (24%)");
        assert_eq!(progress_text(250, 201), "250 / 201 calls (100%)");
    }
}
