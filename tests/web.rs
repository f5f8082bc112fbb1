//! Browser tests of the Yew components (wasm-bindgen-test in headless Chromium).
//!
//! Run with `cargo test -p iterscope-web --target wasm32-unknown-unknown` (the runner comes from
//! `.cargo/config.toml`, the browser from `CHROMEDRIVER` and `webdriver.json`). Natively this
//! file compiles to nothing. The runner's own page already has `id="output"`: use other ids.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use iterscope_web::components::{ExamplePicker, ExamplePickerProps};
use iterscope_web::engine;
use iterscope_web::examples::{self, EXAMPLES};
use iterscope_web::workspace::Workspace;
use iterscope_web::App;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{Element, Event, EventInit, HtmlElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::Callback;

mod browser;

use browser::{mount, wait_for};

wasm_bindgen_test_configure!(run_in_browser);

fn select(el: &Element, value: &str) {
    let select: &HtmlSelectElement = el.dyn_ref().expect("a <select>");
    select.set_value(value);
    let init = EventInit::new();
    init.set_bubbles(true);
    let change = Event::new_with_event_init_dict("change", &init).expect("an event");
    select.dispatch_event(&change).expect("dispatched");
}

/// Mounts the whole app after clearing the autosaved workspace (tests share one page).
fn mount_app(id: &str) -> Element {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.clear();
    }
    let root = mount(id);
    yew::Renderer::<App>::with_root(root.clone()).render();
    root
}

fn click(el: &Element) {
    el.unchecked_ref::<HtmlElement>().click();
}

/// The output of `example` run to the end on the engine the page uses.
fn expected_output(example: &examples::Example) -> (String, usize) {
    let ws = Workspace::from_example(example).expect("the example's workspace");
    let live = engine::start(&ws).expect("the example loads");
    let task = iterscope_web::state::EngineTask {
        task: 1,
        goal: iterscope_web::state::Goal::ToEnd,
        live: Some(live.clone()),
        workspace: Rc::new(ws),
    };
    engine::perform(&task, &mut |_| {}, &|| false);
    let s = live.view();
    (String::from_utf8_lossy(s.output()).into_owned(), s.calls())
}

async fn pick(root: &Element, example: &examples::Example) {
    let picker = wait_for(root, "[data-testid=example-picker]", |_| true).await;
    select(&picker, example.name);
    let ws = Workspace::from_example(example).expect("the example's workspace");
    let listing = engine::listing(&ws.program).expect("the listing");
    wait_for(root, "[data-testid=program-editor]", |e| {
        e.unchecked_ref::<HtmlTextAreaElement>().value() == listing
    })
    .await;
}

#[wasm_bindgen_test]
async fn app_lists_every_example_and_shows_the_first_listing() {
    let root = mount_app("iterscope-test-list");
    let picker = wait_for(&root, "[data-testid=example-picker]", |_| true).await;
    let options = picker.query_selector_all("option").expect("options");
    let values: Vec<String> = (0..options.length())
        .filter_map(|i| options.item(i))
        .filter_map(|n| n.dyn_into::<Element>().ok())
        .filter_map(|e| e.get_attribute("value"))
        .collect();
    let names: Vec<&str> = EXAMPLES.iter().map(|e| e.name).collect();
    assert_eq!(values, names);

    // The first example loads and its listing fills the editor.
    let ws = Workspace::from_example(examples::default_example()).expect("the workspace");
    let expected = engine::listing(&ws.program).expect("the listing");
    wait_for(&root, "[data-testid=program-editor]", |e| {
        e.unchecked_ref::<HtmlTextAreaElement>().value() == expected
    })
    .await;
}

#[wasm_bindgen_test]
async fn run_shows_the_emulator_output_and_one_row_per_call() {
    let root = mount_app("iterscope-test-run");
    let last = examples::find("lru_percpu_hash_survivors").expect("an example that runs");
    pick(&root, last).await;
    let button = wait_for(&root, "[data-testid=run-button]", |_| true).await;
    click(&button);
    let output = wait_for(&root, "[data-testid=seq-output]", |_| true).await;
    wait_for(&root, "[data-testid=run-button]", |b| {
        !b.has_attribute("disabled")
    })
    .await;

    let (expected, calls) = expected_output(last);
    assert_eq!(output.text_content().unwrap_or_default(), expected);
    let status = wait_for(&root, "[data-testid=attach-result]", |_| true).await;
    assert!(status
        .text_content()
        .unwrap_or_default()
        .contains("load: ok"));
    let rows = root
        .query_selector_all("[data-testid=element-row]")
        .expect("rows");
    assert_eq!(rows.length() as usize, calls);
    let stop = root
        .query_selector(&format!(
            "[data-testid=element-row][data-call=\"{}\"]",
            calls - 1
        ))
        .expect("valid selector")
        .expect("the stop row");
    assert_eq!(stop.get_attribute("data-stop").as_deref(), Some("true"));
}

#[wasm_bindgen_test]
async fn step_runs_one_call_at_a_time() {
    let root = mount_app("iterscope-test-step");
    let step = wait_for(&root, "[data-testid=step-button]", |_| true).await;
    for n in 1..=2u32 {
        click(&step);
        wait_for(
            &root,
            &format!("[data-testid=element-row][data-call=\"{}\"]", n - 1),
            |_| true,
        )
        .await;
        wait_for(&root, "[data-testid=step-button]", |b| {
            !b.has_attribute("disabled")
        })
        .await;
        let rows = root
            .query_selector_all("[data-testid=element-row]")
            .expect("rows");
        assert_eq!(rows.length(), n);
    }
    let progress = wait_for(&root, "[data-testid=progress]", |_| true).await;
    assert_eq!(progress.get_attribute("value").as_deref(), Some("2"));
}

#[wasm_bindgen_test]
async fn picker_reports_the_picked_name() {
    let root = mount("iterscope-test-picker");
    let picked = Rc::new(RefCell::new(None::<String>));
    let sink = picked.clone();
    let props = ExamplePickerProps {
        examples: EXAMPLES,
        selected: Some(EXAMPLES[0].name.into()),
        on_select: Callback::from(move |name| *sink.borrow_mut() = Some(name)),
    };
    yew::Renderer::<ExamplePicker>::with_root_and_props(root.clone(), props).render();

    let picker = wait_for(&root, "[data-testid=example-picker]", |_| true).await;
    let last = EXAMPLES.last().expect("an example").name;
    select(&picker, last);
    assert_eq!(picked.borrow().as_deref(), Some(last));
}

#[wasm_bindgen_test]
async fn a_rejected_program_shows_the_error_line_and_the_failing_instruction() {
    let root = mount_app("iterscope-test-rejected");
    let example = examples::find("write_key_rejected").expect("the example");
    pick(&root, example).await;
    let button = wait_for(&root, "[data-testid=run-button]", |_| true).await;
    click(&button);

    let error = wait_for(&root, "[data-testid=verifier-error]", |_| true).await;
    assert_eq!(
        error.text_content().unwrap_or_default(),
        "R1 cannot write into rdonly_buf \u{2014} Permission denied (EACCES)"
    );
    let log = wait_for(&root, "[data-testid=verifier-log]", |_| true).await;
    let failing = log
        .query_selector(".verifier-log-failing")
        .expect("valid selector")
        .expect("the failing instruction is marked");
    assert!(failing
        .text_content()
        .unwrap_or_default()
        .starts_with("5: (63) *(u32 *)(r1 +0) = r2"));
    let status = wait_for(&root, "[data-testid=attach-result]", |_| true).await;
    assert!(status
        .text_content()
        .unwrap_or_default()
        .contains("not attempted"));
    let marks = wait_for(&root, "[data-testid=editor-marks]", |_| true).await;
    assert!(marks
        .text_content()
        .unwrap_or_default()
        .contains("R1 cannot write into rdonly_buf"));
    assert!(root
        .query_selector("[data-testid=seq-output]")
        .expect("valid selector")
        .is_none());
}
