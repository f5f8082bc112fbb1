//! The example picker: a labelled `<select>` whose option values are example names.

use web_sys::HtmlSelectElement;
use yew::prelude::*;

use crate::examples::Example;

/// Props of [`ExamplePicker`].
#[derive(Debug, Properties, PartialEq)]
pub struct ExamplePickerProps {
    /// The examples to offer, in order.
    pub examples: &'static [Example],
    /// The selected example's name (`None`: the user's own program).
    pub selected: Option<AttrValue>,
    /// Called with the picked example's name.
    pub on_select: Callback<String>,
}

/// A `<select data-testid="example-picker">`.
#[function_component(ExamplePicker)]
pub fn example_picker(props: &ExamplePickerProps) -> Html {
    let onchange = {
        let on_select = props.on_select.clone();
        Callback::from(move |e: Event| {
            if let Some(select) = e.target_dyn_into::<HtmlSelectElement>() {
                on_select.emit(select.value());
            }
        })
    };
    html! {
        <div class="example-picker">
            <label for="example-picker">{ "Example" }</label>
            <select id="example-picker" data-testid="example-picker" {onchange}>
                if props.selected.is_none() {
                    <option value="" selected=true disabled=true>{ "Your program" }</option>
                }
                { for props.examples.iter().map(|e| html! {
                    <option value={e.name} selected={props.selected.as_deref() == Some(e.name)}>
                        { e.title }{ " (" }{ e.name }{ ")" }
                    </option>
                }) }
            </select>
        </div>
    }
}
