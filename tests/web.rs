//! Browser tests of the Yew components (wasm-bindgen-test in headless Chromium).
//!
//! Run with `cargo test -p iterscope-web --target wasm32-unknown-unknown` (the runner comes from
//! `.cargo/config.toml`, the browser from `CHROMEDRIVER` and `webdriver.json`). Natively this
//! file compiles to nothing. The runner's own page already has `id="output"`: use other ids.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use iterscope_emulator::scenario::Scenario;
use iterscope_web::components::{ExamplePicker, ExamplePickerProps, Output, OutputProps};
use iterscope_web::examples::{self, EXAMPLES};
use iterscope_web::hooks::run_example;
use iterscope_web::state::{RunOutcome, RunRequest};
use iterscope_web::App;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{Element, Event, EventInit, HtmlElement, HtmlSelectElement};
use yew::platform::time::sleep;
use yew::Callback;

wasm_bindgen_test_configure!(run_in_browser);

fn mount(id: &str) -> Element {
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
async fn wait_for(root: &Element, selector: &str, ready: impl Fn(&Element) -> bool) -> Element {
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

fn select(el: &Element, value: &str) {
    let select: &HtmlSelectElement = el.dyn_ref().expect("a <select>");
    select.set_value(value);
    let init = EventInit::new();
    init.set_bubbles(true);
    let change = Event::new_with_event_init_dict("change", &init).expect("an event");
    select.dispatch_event(&change).expect("dispatched");
}

#[wasm_bindgen_test]
async fn app_lists_every_example_and_shows_the_first_scenario() {
    let root = mount("iterscope-test-list");
    yew::Renderer::<App>::with_root(root.clone()).render();

    let picker = wait_for(&root, "[data-testid=example-picker]", |_| true).await;
    let options = picker.query_selector_all("option").expect("options");
    let values: Vec<String> = (0..options.length())
        .filter_map(|i| options.item(i))
        .filter_map(|n| n.dyn_into::<Element>().ok())
        .filter_map(|e| e.get_attribute("value"))
        .collect();
    let names: Vec<&str> = EXAMPLES.iter().map(|e| e.name).collect();
    assert_eq!(values, names);

    let scenario = wait_for(&root, "[data-testid=scenario]", |_| true).await;
    assert_eq!(
        scenario.text_content().unwrap_or_default(),
        examples::default_example().scenario_json
    );
}

#[wasm_bindgen_test]
async fn run_shows_the_emulator_output_and_one_row_per_call() {
    let root = mount("iterscope-test-run");
    yew::Renderer::<App>::with_root(root.clone()).render();

    // The last example whose program loads, attaches and runs.
    let last = examples::find("lru_percpu_hash_survivors").expect("an example that runs");
    let picker = wait_for(&root, "[data-testid=example-picker]", |_| true).await;
    select(&picker, last.name);
    wait_for(&root, "[data-testid=scenario]", |e| {
        e.text_content().as_deref() == Some(last.scenario_json)
    })
    .await;

    let button = wait_for(&root, "[data-testid=run-button]", |_| true).await;
    button.unchecked_ref::<HtmlElement>().click();
    let output = wait_for(&root, "[data-testid=seq-output]", |_| true).await;

    let expected = run_example(&RunRequest {
        run_id: 0,
        example: last,
        ncpus: 2,
    })
    .expect("the example runs");
    assert_eq!(
        output.text_content().unwrap_or_default(),
        String::from_utf8_lossy(expected.output())
    );

    let status = wait_for(&root, "[data-testid=attach-result]", |_| true).await;
    assert!(status
        .text_content()
        .unwrap_or_default()
        .contains("load: ok"));

    let rows = root
        .query_selector_all("[data-testid=element-row]")
        .expect("rows");
    assert_eq!(rows.length() as usize, expected.calls.len());
    if let Some(stop) = expected.calls.iter().position(|c| c.is_stop) {
        let row = root
            .query_selector(&format!("[data-testid=element-row][data-call=\"{stop}\"]"))
            .expect("valid selector")
            .expect("the stop row");
        assert_eq!(row.get_attribute("data-stop").as_deref(), Some("true"));
    }
}

#[wasm_bindgen_test]
async fn picker_reports_the_picked_name() {
    let root = mount("iterscope-test-picker");
    let picked = Rc::new(RefCell::new(None::<String>));
    let sink = picked.clone();
    let props = ExamplePickerProps {
        examples: EXAMPLES,
        selected: EXAMPLES[0].name,
        on_select: Callback::from(move |name| *sink.borrow_mut() = Some(name)),
    };
    yew::Renderer::<ExamplePicker>::with_root_and_props(root.clone(), props).render();

    let picker = wait_for(&root, "[data-testid=example-picker]", |_| true).await;
    let last = EXAMPLES.last().expect("an example").name;
    select(&picker, last);
    assert_eq!(picked.borrow().as_deref(), Some(last));
}

#[wasm_bindgen_test]
async fn an_error_is_shown_with_display() {
    let root = mount("iterscope-test-error");
    let error = Scenario::from_json("{ not json").expect_err("invalid JSON is an error");
    let message = error.to_string();
    let props = OutputProps {
        running: false,
        outcome: Some(RunOutcome::new(Err(error))),
    };
    yew::Renderer::<Output>::with_root_and_props(root.clone(), props).render();

    let shown = wait_for(&root, "[data-testid=run-error]", |_| true).await;
    assert_eq!(
        shown.text_content().unwrap_or_default(),
        format!("Error: {message}")
    );
    assert!(root
        .query_selector("[data-testid=seq-output]")
        .expect("valid selector")
        .is_none());
}

#[wasm_bindgen_test]
async fn a_rejected_program_shows_the_error_line_and_the_failing_instruction() {
    let root = mount("iterscope-test-rejected");
    yew::Renderer::<App>::with_root(root.clone()).render();

    let example = examples::find("write_key_rejected").expect("the example");
    let picker = wait_for(&root, "[data-testid=example-picker]", |_| true).await;
    select(&picker, example.name);
    wait_for(&root, "[data-testid=scenario]", |e| {
        e.text_content().as_deref() == Some(example.scenario_json)
    })
    .await;
    let button = wait_for(&root, "[data-testid=run-button]", |_| true).await;
    button.unchecked_ref::<HtmlElement>().click();

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
    let output = wait_for(&root, "[data-testid=seq-output]", |_| true).await;
    assert_eq!(output.text_content().unwrap_or_default(), "");
}
