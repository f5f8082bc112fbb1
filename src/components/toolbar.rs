//! The toolbar: the emulated CPU count and the Run button.

use web_sys::HtmlSelectElement;
use yew::prelude::*;

use crate::state::CPU_CHOICES;

/// Props of [`Toolbar`].
#[derive(Debug, Properties, PartialEq)]
pub struct ToolbarProps {
    /// Whether a run is in flight (the button is disabled meanwhile).
    pub running: bool,
    /// The emulated CPU count.
    pub ncpus: u32,
    /// Called with a newly picked CPU count.
    pub on_cpus: Callback<u32>,
    /// Called when Run is pressed.
    pub on_run: Callback<()>,
}

/// CPU count select and `<button data-testid="run-button">`.
#[function_component(Toolbar)]
pub fn toolbar(props: &ToolbarProps) -> Html {
    let onclick = props.on_run.reform(|_: MouseEvent| ());
    let onchange = {
        let on_cpus = props.on_cpus.clone();
        Callback::from(move |e: Event| {
            let picked = e
                .target_dyn_into::<HtmlSelectElement>()
                .and_then(|s| s.value().parse().ok());
            if let Some(n) = picked {
                on_cpus.emit(n);
            }
        })
    };
    html! {
        <div class="toolbar" role="toolbar" aria-label="Run controls">
            <label for="cpu-count">{ "CPUs" }</label>
            <select id="cpu-count" data-testid="cpu-count" {onchange}>
                { for CPU_CHOICES.iter().map(|&n| html! {
                    <option value={n.to_string()} selected={n == props.ncpus}>{ n }</option>
                }) }
            </select>
            <button
                type="button"
                class="run-button"
                data-testid="run-button"
                disabled={props.running}
                aria-busy={props.running.to_string()}
                {onclick}
            >
                { if props.running { "Running…" } else { "Run" } }
            </button>
        </div>
    }
}
