//! Load and attach status of a run, as the kernel oracle reports them.

use yew::prelude::*;

/// Props of [`AttachResult`].
#[derive(Debug, Properties, PartialEq)]
pub struct AttachResultProps {
    /// `"ok"` or `"rejected"`.
    pub load: AttrValue,
    /// The verifier's error line when the load was rejected.
    #[prop_or_default]
    pub verifier_error: AttrValue,
    /// `None` when attaching was not attempted, else `"ok"` or `"failed: …"`.
    #[prop_or_default]
    pub attach: Option<AttrValue>,
}

/// `<p data-testid="attach-result">`, marked `ok` only if both load and attach succeeded.
#[function_component(AttachResult)]
pub fn attach_result(props: &AttachResultProps) -> Html {
    let attach = props.attach.as_deref().unwrap_or("not attempted");
    let ok = props.load == "ok" && attach == "ok";
    html! {
        <div class="attach-result-box">
            <p
                class={classes!("attach-result", if ok { "is-ok" } else { "is-failed" })}
                data-testid="attach-result"
                role="status"
            >
                { "load: " }{ &props.load }{ " · attach: " }{ attach }
            </p>
            if !props.verifier_error.is_empty() {
                <pre class="verifier-error" data-testid="verifier-error">{ &props.verifier_error }</pre>
            }
        </div>
    }
}
