//! The selected example, read-only: its description, scenario JSON and C source.

use yew::prelude::*;

use crate::examples::Example;

/// Props of [`ScenarioView`].
#[derive(Debug, Properties, PartialEq)]
pub struct ScenarioViewProps {
    /// The example to show.
    pub example: &'static Example,
}

/// Scenario JSON (`data-testid="scenario"`) and the program source, both read-only.
#[function_component(ScenarioView)]
pub fn scenario_view(props: &ScenarioViewProps) -> Html {
    let e = props.example;
    html! {
        <div class="scenario-view">
            <h3>{ e.name }{ ".json" }</h3>
            <pre class="code" data-testid="scenario" aria-label="Scenario JSON (read-only)" tabindex="0">
                { e.scenario_json }
            </pre>
            <details class="scenario-source">
                <summary>{ e.name }{ ".bpf.c" }</summary>
                <pre class="code" data-testid="source" aria-label="Program source (read-only)" tabindex="0">
                    { e.source }
                </pre>
            </details>
        </div>
    }
}
