//! The program's global variables (`.bss`, `.data`, `.rodata`) as they are now, decoded by
//! their BTF types — what the program counted or summed so far.

use yew::prelude::*;

use crate::engine::LiveHandle;

/// Props of [`Globals`].
#[derive(Debug, Properties, PartialEq)]
pub struct GlobalsProps {
    /// The live run.
    pub live: LiveHandle,
}

/// A table of section, name and value (`data-testid="globals"`); nothing when the program
/// has no global data.
#[function_component(Globals)]
pub fn globals(props: &GlobalsProps) -> Html {
    let rows = props.live.view().globals();
    if rows.is_empty() {
        return html! {};
    }
    html! {
        <details class="globals" open=true>
            <summary>{ "Globals" }</summary>
            <table data-testid="globals">
                <thead>
                    <tr>
                        <th scope="col">{ "section" }</th>
                        <th scope="col">{ "name" }</th>
                        <th scope="col">{ "value" }</th>
                    </tr>
                </thead>
                <tbody>
                    { for rows.into_iter().map(|r| html! {
                        <tr data-testid="global-row" data-name={r.name.clone()}>
                            <td><code>{ r.section }</code></td>
                            <td><code>{ r.name }</code></td>
                            <td><code>{ r.value }</code></td>
                        </tr>
                    }) }
                </tbody>
            </table>
        </details>
    }
}
