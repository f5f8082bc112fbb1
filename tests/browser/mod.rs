//! Helpers shared by the browser test files (`tests/web.rs`, `tests/web_editors.rs`): mount a
//! fresh root element and poll the DOM until something appears.

use std::time::Duration;

use web_sys::Element;
use yew::platform::time::sleep;

/// A new `<div id=ID>` appended to the page's body (the runner's page already has
/// `id="output"`: use other ids).
pub fn mount(id: &str) -> Element {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .expect("a document");
    let root = document.create_element("div").expect("a div");
    root.set_id(id);
    document
        .body()
        .expect("a body")
        .append_child(&root)
        .expect("appended");
    root
}

/// Polls until `selector` matches inside `root` and `ready` accepts it (about 5 s at most).
pub async fn wait_for(root: &Element, selector: &str, ready: impl Fn(&Element) -> bool) -> Element {
    for _ in 0..250 {
        if let Some(el) = root.query_selector(selector).expect("valid selector") {
            if ready(&el) {
                return el;
            }
        }
        sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {selector}");
}
