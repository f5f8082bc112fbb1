//! Browser tests of the two editors, [`ProgramEditor`] and [`MapEditor`], mounted alone (the
//! map editor inside a small harness that feeds its edits back, as the app does).
//!
//! Run with `cargo test -p iterscope-web --target wasm32-unknown-unknown --test web_editors`.
//! Natively this file compiles to nothing.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use iterscope_emulator::elf::typed::FieldLeaf;
use iterscope_emulator::scenario::{Entries, Entry, Generator, HexValue, MapScenario};
use iterscope_web::components::{LineMark, MapEditor, MarkKind, ProgramEditor, ProgramEditorProps};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{
    Element, Event, EventInit, HtmlElement, HtmlInputElement, HtmlTextAreaElement, InputEvent,
    InputEventInit, KeyboardEvent, KeyboardEventInit,
};
use yew::platform::time::sleep;
use yew::prelude::*;

mod browser;

use browser::{mount, wait_for};

wasm_bindgen_test_configure!(run_in_browser);

/// Lets Yew render what the last event scheduled.
async fn settle() {
    sleep(Duration::from_millis(30)).await;
}

fn all(root: &Element, selector: &str) -> Vec<Element> {
    let list = root.query_selector_all(selector).expect("valid selector");
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<Element>().ok())
        .collect()
}

fn text(el: &Element) -> String {
    el.text_content().unwrap_or_default()
}

fn bubbling() -> EventInit {
    let init = EventInit::new();
    init.set_bubbles(true);
    init
}

/// Sets an input's or textarea's value and fires `input`, as typing does.
fn type_into(el: &Element, value: &str) {
    if let Some(i) = el.dyn_ref::<HtmlInputElement>() {
        i.set_value(value);
    } else if let Some(t) = el.dyn_ref::<HtmlTextAreaElement>() {
        t.set_value(value);
    } else {
        panic!("not a text field");
    }
    let init = InputEventInit::new();
    init.set_bubbles(true);
    let e = InputEvent::new_with_event_init_dict("input", &init).expect("an input event");
    el.dispatch_event(&e).expect("dispatched");
}

fn change(el: &Element) {
    let e = Event::new_with_event_init_dict("change", &bubbling()).expect("an event");
    el.dispatch_event(&e).expect("dispatched");
}

fn key(el: &Element, key: &str, ctrl: bool) -> bool {
    let init = KeyboardEventInit::new();
    init.set_key(key);
    init.set_ctrl_key(ctrl);
    init.set_bubbles(true);
    init.set_cancelable(true);
    let e = KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).expect("an event");
    el.dispatch_event(&e).expect("dispatched");
    e.default_prevented()
}

fn click(el: &Element) {
    el.unchecked_ref::<HtmlElement>().click();
}

fn recorder<T: 'static>() -> (Rc<RefCell<Vec<T>>>, Callback<T>) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let sink = log.clone();
    (log, Callback::from(move |v| sink.borrow_mut().push(v)))
}

// ---- ProgramEditor ----

#[derive(Properties, PartialEq)]
struct EditorHarnessProps {
    initial: AttrValue,
    changes: Callback<String>,
    runs: Callback<()>,
    #[prop_or_default]
    marks: Rc<[LineMark]>,
}

/// Feeds every edit back as the new `text`, as the app's store does.
#[function_component(EditorHarness)]
fn editor_harness(p: &EditorHarnessProps) -> Html {
    let text = use_state(|| p.initial.clone());
    let on_change = {
        let text = text.clone();
        let changes = p.changes.clone();
        Callback::from(move |t: String| {
            changes.emit(t.clone());
            text.set(AttrValue::from(t));
        })
    };
    html! {
        <ProgramEditor text={(*text).clone()} {on_change} on_run={p.runs.clone()} marks={p.marks.clone()} />
    }
}

#[wasm_bindgen_test]
async fn typing_emits_changes_keeps_the_caret_and_ctrl_enter_runs() {
    let root = mount("editors-test-typing");
    let (changes, on_change) = recorder::<String>();
    let (runs, on_run) = recorder::<()>();
    let props = EditorHarnessProps {
        initial: "r0 = 0\nexit".into(),
        changes: on_change,
        runs: on_run,
        marks: Rc::from(Vec::new()),
    };
    yew::Renderer::<EditorHarness>::with_root_and_props(root.clone(), props).render();

    let ta = wait_for(&root, "[data-testid=program-editor]", |e| {
        e.unchecked_ref::<HtmlTextAreaElement>().value() == "r0 = 0\nexit"
    })
    .await;
    assert_eq!(ta.get_attribute("spellcheck").as_deref(), Some("false"));
    assert!(ta.get_attribute("aria-label").is_some());
    wait_for(&root, ".pe-highlight .tok-kw", |e| text(e) == "exit").await;

    let area: &HtmlTextAreaElement = ta.unchecked_ref();
    area.focus().expect("focusable");
    type_into(&ta, "r0 = 1\nexit");
    area.set_selection_range(3, 3).expect("a selection");
    settle().await;
    assert_eq!(
        changes.borrow().last().map(String::as_str),
        Some("r0 = 1\nexit")
    );
    // The parent fed the same text back: the caret did not move.
    assert_eq!(area.selection_start().ok().flatten(), Some(3));
    assert_eq!(area.value(), "r0 = 1\nexit");
    wait_for(&root, ".pe-highlight .tok-num", |e| text(e) == "1").await;

    // Tab indents at the caret and is reported like any edit.
    assert!(key(&ta, "Tab", false));
    settle().await;
    assert_eq!(area.value(), "r0     = 1\nexit");
    assert_eq!(area.selection_start().ok().flatten(), Some(7));
    assert_eq!(
        changes.borrow().last().map(String::as_str),
        Some("r0     = 1\nexit")
    );

    assert!(runs.borrow().is_empty());
    assert!(key(&ta, "Enter", true));
    assert_eq!(runs.borrow().len(), 1);
    // A plain Enter types a newline (not prevented, no run).
    assert!(!key(&ta, "Enter", false));
    assert_eq!(runs.borrow().len(), 1);
}

#[wasm_bindgen_test]
async fn a_mark_shows_at_its_line_and_under_the_editor() {
    let root = mount("editors-test-marks");
    let marks: Rc<[LineMark]> = Rc::from(vec![
        LineMark {
            line: 2,
            kind: MarkKind::Error,
            message: "unknown instruction `mov`".into(),
        },
        LineMark {
            line: 3,
            kind: MarkKind::Current,
            message: "stopped here".into(),
        },
    ]);
    let props = ProgramEditorProps {
        text: "r0 = 0\nmov r1, r2\nexit".into(),
        readonly: false,
        on_change: Callback::noop(),
        on_run: Callback::noop(),
        marks,
        focus_line: None,
    };
    yew::Renderer::<ProgramEditor>::with_root_and_props(root.clone(), props).render();

    let gutter = wait_for(&root, ".pe-gutter-line[data-line=\"2\"]", |_| true).await;
    assert!(gutter.class_name().contains("pe-mark-error"));
    assert_eq!(gutter.get_attribute("data-mark").as_deref(), Some("error"));
    assert_eq!(
        gutter.get_attribute("title").as_deref(),
        Some("unknown instruction `mov`")
    );
    let plain = wait_for(&root, ".pe-gutter-line[data-line=\"1\"]", |_| true).await;
    assert!(plain.get_attribute("data-mark").is_none());
    let current = wait_for(&root, ".pe-gutter-line[data-line=\"3\"]", |_| true).await;
    assert!(current.class_name().contains("pe-mark-current"));

    let list = wait_for(&root, "[data-testid=editor-marks]", |_| true).await;
    let items: Vec<String> = all(&list, "li").iter().map(text).collect();
    assert_eq!(items.len(), 2);
    assert!(
        items[0].ends_with("line 2 (error): unknown instruction `mov`"),
        "{items:?}"
    );
    let ta = wait_for(&root, "[data-testid=program-editor]", |_| true).await;
    assert_eq!(ta.get_attribute("aria-invalid").as_deref(), Some("true"));
}

#[wasm_bindgen_test]
async fn a_long_program_renders_a_window_and_focus_line_scrolls_to_it() {
    let root = mount("editors-test-focus");
    let program: String = (0..5000).map(|i| format!("r{} = {i}\n", i % 10)).collect();
    let props = ProgramEditorProps {
        text: program.into(),
        readonly: true,
        on_change: Callback::noop(),
        on_run: Callback::noop(),
        marks: Rc::from(Vec::new()),
        focus_line: Some(4000),
    };
    yew::Renderer::<ProgramEditor>::with_root_and_props(root.clone(), props).render();

    let focused = wait_for(&root, ".pe-gutter-line.pe-focus", |_| true).await;
    assert_eq!(focused.get_attribute("data-line").as_deref(), Some("4000"));
    wait_for(&root, ".pe-line.pe-focus", |e| text(e) == "r9 = 3999").await;
    let ta = wait_for(&root, "[data-testid=program-editor]", |_| true).await;
    assert!(ta.scroll_top() > 0);
    assert!(ta.has_attribute("readonly"));
    let lines = all(&root, ".pe-line").len();
    assert!(lines > 0 && lines < 500, "{lines} lines rendered");
}

// ---- MapEditor ----

#[derive(Properties, PartialEq)]
struct MapHarnessProps {
    initial: Rc<MapScenario>,
    ncpus: u32,
    changes: Callback<MapScenario>,
    #[prop_or_default]
    key_fields: Option<Rc<[FieldLeaf]>>,
}

/// Feeds every edit back as the new `map`, as the app's store does.
#[function_component(MapHarness)]
fn map_harness(p: &MapHarnessProps) -> Html {
    let map = use_state(|| p.initial.clone());
    let on_change = {
        let map = map.clone();
        let changes = p.changes.clone();
        Callback::from(move |m: MapScenario| {
            changes.emit(m.clone());
            map.set(Rc::new(m));
        })
    };
    html! {
        <MapEditor map={(*map).clone()} ncpus={p.ncpus} {on_change} key_fields={p.key_fields.clone()} />
    }
}

fn hash_map(entries: Entries) -> MapScenario {
    MapScenario {
        kind: "hash".into(),
        name: None,
        key_size: 4,
        value_size: 8,
        max_entries: 16,
        flags: 64,
        entries,
        ops: Vec::new(),
        storage: Vec::new(),
        btf: None,
        key_type: None,
        value_type: None,
    }
}

fn entry(key: &str, value: &str) -> Entry {
    Entry {
        key: key.into(),
        value: HexValue::One(value.into()),
        flags: None,
    }
}

fn list(m: &MapScenario) -> &[Entry] {
    match &m.entries {
        Entries::List(l) => l,
        Entries::Gen(_) => panic!("a generator"),
    }
}

fn mount_map(id: &str, map: MapScenario, ncpus: u32) -> (Element, Rc<RefCell<Vec<MapScenario>>>) {
    mount_map_with(id, map, ncpus, None)
}

fn mount_map_with(
    id: &str,
    map: MapScenario,
    ncpus: u32,
    key_fields: Option<Rc<[FieldLeaf]>>,
) -> (Element, Rc<RefCell<Vec<MapScenario>>>) {
    let root = mount(id);
    let (changes, sink) = recorder::<MapScenario>();
    let props = MapHarnessProps {
        initial: Rc::new(map),
        ncpus,
        changes: sink,
        key_fields,
    };
    yew::Renderer::<MapHarness>::with_root_and_props(root.clone(), props).render();
    (root, changes)
}

#[wasm_bindgen_test]
async fn map_editor_sizes_rows_bad_hex_and_delete() {
    let initial = hash_map(Entries::List(vec![entry("01000000", "0a00000000000000")]));
    let (root, changes) = mount_map("editors-test-map", initial, 2);
    wait_for(&root, "[data-testid=map-editor]", |_| true).await;
    assert_eq!(all(&root, "[data-testid=map-entry-row]").len(), 1);

    // Key size 4 -> 2: emitted; the old 4-byte key is now flagged at its row.
    let ks = wait_for(&root, "[data-testid=map-key-size]", |_| true).await;
    type_into(&ks, "2");
    settle().await;
    assert_eq!(changes.borrow().last().map(|m| m.key_size), Some(2));
    let err = wait_for(&root, "[data-testid=entry-error]", |_| true).await;
    assert_eq!(text(&err), "entry 0 key: 4 bytes, the key is 2");

    let add = wait_for(&root, "[data-testid=add-entry]", |_| true).await;
    click(&add);
    wait_for(&root, "[data-row=\"1\"]", |_| true).await;
    assert_eq!(all(&root, "[data-testid=map-entry-row]").len(), 2);
    assert_eq!(
        list(changes.borrow().last().expect("emitted"))[1],
        entry("0000", "0000000000000000")
    );

    // A bad key stays in its box with an error and is not emitted.
    let emitted = changes.borrow().len();
    let key1 = wait_for(&root, "[data-row=\"1\"] [data-testid=entry-key]", |_| true).await;
    type_into(&key1, "0z 00");
    settle().await;
    assert_eq!(changes.borrow().len(), emitted);
    assert_eq!(key1.unchecked_ref::<HtmlInputElement>().value(), "0z 00");
    let err = wait_for(&root, "[data-row=\"1\"] [data-testid=entry-error]", |_| {
        true
    })
    .await;
    assert_eq!(
        text(&err),
        "entry 1 key: 'z' at character 2 is not a hex digit"
    );
    type_into(&key1, "0a 00 00");
    settle().await;
    assert_eq!(changes.borrow().len(), emitted);
    let err = wait_for(&root, "[data-row=\"1\"] [data-testid=entry-error]", |_| {
        true
    })
    .await;
    assert_eq!(text(&err), "entry 1 key: 3 bytes, the key is 2");

    // Fixed: emitted as compact hex, the typed text stays as typed.
    type_into(&key1, "0a 00");
    settle().await;
    let last = changes.borrow().last().cloned().expect("emitted");
    assert_eq!(list(&last)[1], entry("0a00", "0000000000000000"));
    assert_eq!(last.key_size, 2);
    assert_eq!(key1.unchecked_ref::<HtmlInputElement>().value(), "0a 00");
    assert!(root
        .query_selector("[data-row=\"1\"] [data-testid=entry-error]")
        .expect("valid selector")
        .is_none());
    change(&key1);
    settle().await;

    // Delete row 0: the fixed row moves up with its value.
    let delete = wait_for(&root, "[data-row=\"0\"] [data-testid=delete-entry]", |_| {
        true
    })
    .await;
    click(&delete);
    settle().await;
    let last = changes.borrow().last().cloned().expect("emitted");
    assert_eq!(list(&last), [entry("0a00", "0000000000000000")]);
    let rows = all(&root, "[data-testid=map-entry-row]");
    assert_eq!(rows.len(), 1);
    let key0 = wait_for(&root, "[data-row=\"0\"] [data-testid=entry-key]", |_| true).await;
    assert_eq!(key0.unchecked_ref::<HtmlInputElement>().value(), "0a00");

    // The map's own fields are checked with the emulator's rules.
    let vs = wait_for(&root, "[data-testid=map-value-size]", |_| true).await;
    type_into(&vs, "0");
    let err = wait_for(&root, "[data-testid=map-error]", |_| true).await;
    assert_eq!(text(&err), "map.value_size: must not be 0");
}

#[wasm_bindgen_test]
async fn map_editor_generator_shows_a_preview_not_a_million_rows() {
    let initial = hash_map(Entries::List(vec![entry("01000000", "0a00000000000000")]));
    let (root, changes) = mount_map("editors-test-gen", initial, 2);
    let radio = wait_for(&root, "[data-testid=mode-generator]", |_| true).await;
    click(&radio);
    let count = wait_for(&root, "[data-testid=generator-count]", |_| true).await;
    assert!(matches!(
        changes.borrow().last().map(|m| &m.entries),
        Some(Entries::Gen(_))
    ));
    type_into(&count, "1000000");
    settle().await;
    let Some(Entries::Gen(g)) = changes.borrow().last().map(|m| m.entries.clone()) else {
        panic!("a generator was emitted");
    };
    assert_eq!(
        g,
        Generator {
            gen: "seq".into(),
            count: 1_000_000,
            start: 0,
            step: 1,
            mul: 1,
            add: 0,
            cpu_add: 0
        }
    );
    let preview = wait_for(&root, "[data-testid=generator-preview]", |_| true).await;
    assert_eq!(all(&preview, "tbody tr").len(), 5);
    assert!(all(&root, "[data-testid=map-entry-row]").is_empty());
    assert!(root
        .query_selector("[data-testid=expand-generator]")
        .expect("valid selector")
        .is_none());
    // 1M is more than this map's generator limit? No: the limit is at least 2^20.
    assert!(all(&root, "[data-testid=map-error]").is_empty());

    type_into(&count, "3");
    let expand = wait_for(&root, "[data-testid=expand-generator]", |_| true).await;
    click(&expand);
    wait_for(&root, "[data-row=\"2\"]", |_| true).await;
    let last = changes.borrow().last().cloned().expect("emitted");
    assert_eq!(
        list(&last),
        [
            entry("00000000", "0000000000000000"),
            entry("01000000", "0100000000000000"),
            entry("02000000", "0200000000000000"),
        ]
    );
}

#[wasm_bindgen_test]
async fn map_editor_pages_a_long_list() {
    let entries = (0u32..5000)
        .map(|i| {
            entry(
                &iterscope_web::components::hex(&i.to_le_bytes()),
                "0000000000000000",
            )
        })
        .collect();
    let mut map = hash_map(Entries::List(entries));
    map.max_entries = 8192;
    let (root, _) = mount_map("editors-test-pages", map, 2);
    wait_for(&root, "[data-testid=map-entry-row]", |_| true).await;
    assert_eq!(all(&root, "[data-testid=map-entry-row]").len(), 100);
    let next = wait_for(&root, "[data-testid=entries-next]", |_| true).await;
    click(&next);
    wait_for(&root, "[data-row=\"100\"]", |_| true).await;
    assert_eq!(all(&root, "[data-testid=map-entry-row]").len(), 100);
    let page = wait_for(&root, "[data-testid=entries-page]", |_| true).await;
    assert!(text(&page).contains("of 5000"), "{}", text(&page));
}

#[wasm_bindgen_test]
async fn map_editor_fields_and_per_cpu_values() {
    let fields: Rc<[FieldLeaf]> = Rc::from(vec![
        FieldLeaf {
            path: "x".into(),
            offset: 0,
            size: 4,
            signed: false,
        },
        FieldLeaf {
            path: "y".into(),
            offset: 4,
            size: 2,
            signed: true,
        },
    ]);
    let mut map = hash_map(Entries::List(vec![entry(
        "0100000000000000",
        "0000000000000000",
    )]));
    map.kind = "percpu_hash".into();
    map.key_size = 8;
    let (root, changes) = mount_map_with("editors-test-fields", map, 2, Some(fields));

    let y = wait_for(&root, "[data-testid=entry-field][data-path=y]", |_| true).await;
    let x = wait_for(&root, "[data-testid=entry-field][data-path=x]", |_| true).await;
    assert_eq!(x.unchecked_ref::<HtmlInputElement>().value(), "1");
    type_into(&y, "-2");
    settle().await;
    assert_eq!(
        list(changes.borrow().last().expect("emitted"))[0].key,
        "01000000feff0000"
    );
    let emitted = changes.borrow().len();
    type_into(&y, "40000");
    settle().await;
    assert_eq!(changes.borrow().len(), emitted);
    let err = wait_for(&root, "[data-testid=entry-error]", |_| true).await;
    assert_eq!(text(&err), "entry 0 key.y: 40000 does not fit s16");

    // One value for all CPUs, then one per CPU.
    let percpu = wait_for(&root, "[data-testid=entry-percpu]", |_| true).await;
    click(&percpu);
    let cpu1 = wait_for(&root, "[data-testid=entry-value][data-cpu=\"1\"]", |_| true).await;
    type_into(&cpu1, "ff00000000000000");
    settle().await;
    assert_eq!(
        list(changes.borrow().last().expect("emitted"))[0].value,
        HexValue::PerCpu(vec!["0000000000000000".into(), "ff00000000000000".into()])
    );
}

#[wasm_bindgen_test]
async fn map_editor_array_keys_are_indices() {
    let mut map = hash_map(Entries::List(vec![entry("03000000", "0000000000000000")]));
    map.kind = "array".into();
    map.flags = 0;
    map.max_entries = 8;
    let (root, changes) = mount_map("editors-test-array", map, 2);
    let key = wait_for(&root, "[data-testid=entry-key]", |_| true).await;
    assert_eq!(key.unchecked_ref::<HtmlInputElement>().value(), "3");
    type_into(&key, "9");
    settle().await;
    assert_eq!(
        list(changes.borrow().last().expect("emitted"))[0].key,
        "09000000"
    );
    let warning = wait_for(&root, "[data-testid=entry-error]", |_| true).await;
    assert_eq!(
        text(&warning),
        "entry 0 key: index 9 is past max_entries 8 (the update fails with E2BIG)"
    );
    // No BPF_F_ZERO_SEED box for arrays.
    assert!(root
        .query_selector("[data-testid=map-flag-zero-seed]")
        .expect("valid selector")
        .is_none());
}
