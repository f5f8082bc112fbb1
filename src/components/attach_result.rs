//! The attach step of a run, as the kernel oracle reports it.

use yew::prelude::*;

/// Props of [`AttachResult`].
#[derive(Debug, Properties, PartialEq)]
pub struct AttachResultProps {
    /// `"ok"` or `"rejected"`.
    pub load: AttrValue,
    /// `None` when attaching was not attempted, else `"ok"` or `"failed: …"`.
    #[prop_or_default]
    pub attach: Option<AttrValue>,
}

/// The text of the attach step: `load: ok · attach: failed: Permission denied (EACCES)`.
pub fn attach_text(load: &str, attach: Option<&str>) -> String {
    let attach = match attach {
        Some(a) => a,
        None if load == "ok" => "not attempted",
        None => "not attempted (the load was rejected)",
    };
    format!("load: {load} \u{b7} attach: {attach}")
}

/// `<p data-testid="attach-result">`, marked `ok` only if both load and attach succeeded.
#[function_component(AttachResult)]
pub fn attach_result(props: &AttachResultProps) -> Html {
    let ok = props.load == "ok" && props.attach.as_deref() == Some("ok");
    html! {
        <p
            class={classes!("attach-result", if ok { "is-ok" } else { "is-failed" })}
            data-testid="attach-result"
            role="status"
        >
            { attach_text(&props.load, props.attach.as_deref()) }
        </p>
    }
}

#[cfg(test)]
mod tests {
    use super::attach_text;

    #[test]
    fn says_why_attach_was_not_attempted() {
        assert_eq!(attach_text("ok", Some("ok")), "load: ok \u{b7} attach: ok");
        assert_eq!(
            attach_text("ok", Some("failed: Permission denied (EACCES)")),
            "load: ok \u{b7} attach: failed: Permission denied (EACCES)"
        );
        assert_eq!(
            attach_text("rejected", None),
            "load: rejected \u{b7} attach: not attempted (the load was rejected)"
        );
    }
}
