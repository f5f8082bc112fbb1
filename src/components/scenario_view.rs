//! The C source of a built-in example, read-only, for reference next to its disassembly.

use yew::prelude::*;

use crate::examples::Example;

/// Props of [`ScenarioView`].
#[derive(Debug, Properties, PartialEq)]
pub struct ScenarioViewProps {
    /// The example whose source to show.
    pub example: &'static Example,
}

/// A collapsed `<details>` with the example's `.bpf.c` (`data-testid="source"`).
#[function_component(ScenarioView)]
pub fn scenario_view(props: &ScenarioViewProps) -> Html {
    let e = props.example;
    html! {
        <details class="scenario-source">
            <summary>{ "C source: " }{ e.name }{ ".bpf.c" }</summary>
            <pre class="code" data-testid="source" aria-label="Program source (read-only)" tabindex="0">
                { e.source }
            </pre>
        </details>
    }
}
