//! The root component: owns the store, provides it through context, wires the engine,
//! autosave and file effects, and lays out the panels.
//!
//! Panels get plain props and callbacks; the callbacks dispatch [`Action`]s. The browser
//! glue (files, downloads, share links) lives in [`crate::hooks`]; the emulator is reached
//! only through [`crate::engine`].

use std::rc::Rc;

use web_sys::HtmlInputElement;
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::components::{
    mark_log, ExamplePicker, Globals, LineMark, LogMark, MapEditor, MarkKind, Output,
    ProgramEditor, SocketEditor, Timeline, Toolbar, TracePanel,
};
use crate::engine::{self, AppError};
use crate::examples::EXAMPLES;
use crate::hooks::{
    download, initial_state, read_file, share_url, use_autosave, use_engine, use_examples,
    use_trace,
};
use crate::state::{Action, Goal, OutputView, PlaygroundState, RunState, StoreContext};
use crate::workspace::{self, ProgramDoc};

/// The whole page.
#[function_component(App)]
pub fn app() -> Html {
    let store = use_reducer(initial_state);
    use_engine(&store);
    use_autosave(&store);
    use_trace(&store);
    use_examples(&store);
    html! {
        <ContextProvider<StoreContext> context={store}>
            <Playground />
        </ContextProvider<StoreContext>>
    }
}

/// The instruction index of the failing instruction line of a rejected load's log.
fn failing_insn(log: &str, error: &str) -> Option<usize> {
    let (line, _) = mark_log(log, error)
        .into_iter()
        .find(|(_, m)| *m == LogMark::FailingInsn)?;
    line.trim_start().split(':').next()?.parse().ok()
}

/// The editor line of the instruction a rejected load failed at.
fn failing_line(state: &PlaygroundState) -> Option<usize> {
    let s = state.live()?.view();
    if s.run.load() != "rejected" {
        return None;
    }
    failing_insn(s.run.verifier_log(), s.run.verifier_error()).and_then(|i| s.line_of_insn(i))
}

/// Marks for the editor: an assembly error at its line, or the instruction a rejected load
/// failed at.
fn editor_marks(state: &PlaygroundState) -> Vec<LineMark> {
    let mut marks = Vec::new();
    if let Some(AppError::Assemble { line, message, .. }) = state.error() {
        marks.push(LineMark {
            line: *line,
            kind: MarkKind::Error,
            message: message.clone(),
        });
    }
    if let (Some(line), Some(live)) = (failing_line(state), state.live()) {
        marks.push(LineMark {
            line,
            kind: MarkKind::Error,
            message: live.view().run.verifier_error().to_owned(),
        });
    }
    marks
}

/// Reads each picked or dropped file and dispatches what it is.
fn import_files(files: Option<web_sys::FileList>, store: StoreContext) {
    let Some(files) = files else { return };
    let files: Vec<web_sys::File> = (0..files.length()).filter_map(|i| files.get(i)).collect();
    spawn_local(async move {
        for file in files {
            let name = file.name();
            let action = match read_file(file).await {
                Ok(bytes) => match workspace::import_file(&name, &bytes) {
                    Ok(imported) => Action::Import(imported),
                    Err(e) => Action::Notify {
                        is_error: true,
                        text: e.to_string(),
                    },
                },
                Err(text) => Action::Notify {
                    is_error: true,
                    text,
                },
            };
            store.dispatch(action);
        }
    });
}

fn notify_err(store: &StoreContext, r: Result<(), String>) {
    if let Err(text) = r {
        store.dispatch(Action::Notify {
            is_error: true,
            text,
        });
    }
}

/// The page's layout.
#[function_component(Playground)]
fn playground() -> Html {
    let Some(store) = use_context::<StoreContext>() else {
        return html! { <p role="alert">{ "Iterscope: missing store" }</p> };
    };
    let program = store.workspace.program.clone();
    let listing = use_memo(program.clone(), |p| {
        engine::listing(p).map_err(|e| e.to_string())
    });
    let fields = use_memo(store.workspace.clone(), |ws| engine::map_fields(ws));
    let dispatch = |make: fn() -> Action| {
        let store = store.clone();
        Callback::from(move |()| store.dispatch(make()))
    };
    let on_select = {
        let store = store.clone();
        Callback::from(move |name: String| store.dispatch(Action::SelectExample(name)))
    };
    let on_edit = {
        let store = store.clone();
        Callback::from(move |text: String| store.dispatch(Action::EditAssembly(text)))
    };
    let on_edit_as_asm = {
        let store = store.clone();
        let listing = listing.clone();
        let name = program.file_name();
        Callback::from(move |_: MouseEvent| {
            if let Ok(text) = listing.as_ref() {
                store.dispatch(Action::EditAssembly(text.clone()));
            } else {
                store.dispatch(Action::Notify {
                    is_error: true,
                    text: format!("{name} cannot be disassembled"),
                });
            }
        })
    };
    let on_upload = {
        let store = store.clone();
        Callback::from(move |e: Event| {
            if let Some(input) = e.target_dyn_into::<HtmlInputElement>() {
                import_files(input.files(), store.clone());
                input.set_value("");
            }
        })
    };
    let on_drop = {
        let store = store.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            import_files(e.data_transfer().and_then(|d| d.files()), store.clone());
        })
    };
    let on_dragover = Callback::from(|e: DragEvent| e.prevent_default());
    let on_export = {
        let store = store.clone();
        Callback::from(move |_: MouseEvent| {
            for f in workspace::export_files(&store.workspace) {
                notify_err(&store, download(&f.name, f.mime, &f.bytes));
            }
        })
    };
    let on_bpftool = {
        let store = store.clone();
        Callback::from(move |_: MouseEvent| {
            let ws = &store.workspace;
            let r = engine::bpftool_script(ws).and_then(|script| {
                let name = format!("{}.sh", ws.program.file_name());
                download(&name, "text/x-shellscript", script.as_bytes())
            });
            notify_err(&store, r);
        })
    };
    let on_share = {
        let store = store.clone();
        Callback::from(move |_: MouseEvent| {
            store.dispatch(Action::Shared(share_url(&store.workspace)));
        })
    };
    let on_map = {
        let store = store.clone();
        Callback::from(move |m| store.dispatch(Action::SetMap(m)))
    };
    let on_sockets = {
        let store = store.clone();
        Callback::from(move |(m, s)| store.dispatch(Action::SetSockets(m, s)))
    };
    let on_cpus = {
        let store = store.clone();
        Callback::from(move |n| store.dispatch(Action::SetCpus(n)))
    };
    let on_read_size = {
        let store = store.clone();
        Callback::from(move |n| store.dispatch(Action::SetReadSize(n)))
    };
    let on_view = {
        let store = store.clone();
        Callback::from(move |v: OutputView| store.dispatch(Action::SetOutputView(v)))
    };
    let on_select_call = {
        let store = store.clone();
        Callback::from(move |c: Option<usize>| store.dispatch(Action::SelectCall(c)))
    };
    let on_download_output = {
        let store = store.clone();
        Callback::from(move |()| {
            if let Some(live) = store.live() {
                let name = format!("{}.out", store.workspace.program.file_name());
                notify_err(&store, download(&name, "text/plain", live.view().output()));
            }
        })
    };
    let on_goto = {
        let store = store.clone();
        Callback::from(move |line: usize| store.dispatch(Action::FocusLine(line)))
    };
    let on_trace = {
        let store = store.clone();
        Callback::from(move |call: usize| store.dispatch(Action::OpenTrace(call as u64)))
    };
    let on_trace_move = {
        let store = store.clone();
        Callback::from(move |m| store.dispatch(Action::MoveTrace(m)))
    };
    let on_toggle_breakpoint = {
        let store = store.clone();
        Callback::from(move |pc| store.dispatch(Action::ToggleBreakpoint(pc)))
    };
    let on_no_verify = {
        let store = store.clone();
        Callback::from(move |e: Event| {
            if let Some(i) = e.target_dyn_into::<HtmlInputElement>() {
                store.dispatch(Action::SetNoVerify(i.checked()));
            }
        })
    };
    let on_dismiss = {
        let store = store.clone();
        Callback::from(move |_: MouseEvent| store.dispatch(Action::DismissNotice))
    };

    let busy = match &store.run {
        RunState::Busy { goal, .. } => Some(*goal),
        // Loading an example's files: nothing to run yet.
        _ if store.loading_example.is_some() => Some(Goal::Load),
        _ => None,
    };
    let live = store.live().cloned();
    let progress = live.as_ref().map(|l| {
        let s = l.view();
        (s.run.calls_done(), s.run.estimated_calls())
    });
    let can_step = live.as_ref().is_none_or(|l| !l.is_finished());
    let editable = matches!(program, ProgramDoc::Asm { .. });
    let text: AttrValue = match listing.as_ref() {
        Ok(t) => AttrValue::from(t.clone()),
        Err(e) => AttrValue::from(format!("; {e}")),
    };
    let marks: Rc<[LineMark]> = editor_marks(&store).into();
    let read_size = store
        .workspace
        .scenario
        .reads
        .first()
        .map_or(4096, |r| r.read_size);
    let (key_fields, value_fields) = (*fields).clone();

    html! {
        <div class="app">
            <header class="app-header">
                <div>
                    <h1>{ "Iterscope" }</h1>
                    <p class="app-tagline">
                        { "Linux BPF map-element iterators (" }<code>{ "iter/bpf_map_elem" }</code>
                        { "), emulated in your browser." }
                    </p>
                </div>
                <div class="share">
                    <button type="button" data-testid="share-button" onclick={on_share}>
                        { "Share link" }
                    </button>
                    if let Some(url) = &store.share_url {
                        <input data-testid="share-url" class="share-url" readonly=true
                            aria-label="Share link" value={url.clone()}
                            onfocus={Callback::from(|e: FocusEvent| {
                                if let Some(i) = e.target_dyn_into::<HtmlInputElement>() { i.select(); }
                            })} />
                    }
                </div>
            </header>
            if let Some(n) = &store.notice {
                <div class={classes!("notice", n.is_error.then_some("is-error"))}
                    role={if n.is_error { "alert" } else { "status" }} data-testid="notice">
                    <span>{ n.text.clone() }</span>
                    <button type="button" aria-label="Dismiss" onclick={on_dismiss}>{ "×" }</button>
                </div>
            }
            <main class="app-main">
                <div class="column">
                    <section class="panel panel-program" aria-labelledby="program-heading"
                        ondrop={on_drop} ondragover={on_dragover}>
                        <h2 id="program-heading">{ "Program" }</h2>
                        <div class="program-bar">
                            <ExamplePicker examples={EXAMPLES}
                                selected={store.example_name().map(|n| AttrValue::from(n.to_owned()))}
                                {on_select} />
                            <label class="file-button">
                                { "Open .o / .s / .json…" }
                                <input type="file" data-testid="object-upload"
                                    accept=".o,.s,.json,application/octet-stream" multiple=true
                                    onchange={on_upload} />
                            </label>
                            <button type="button" data-testid="export-scenario" onclick={on_export}
                                title="Download the scenario and program for `iterscope run`">
                                { "Export" }
                            </button>
                            <button type="button" data-testid="export-bpftool" onclick={on_bpftool}
                                title="Download a shell script that runs this on a real kernel">
                                { "bpftool script" }
                            </button>
                        </div>
                        if !editable {
                            <p class="program-note">
                                { format!("{} — disassembly with C source lines (read-only). ", program.file_name()) }
                                <button type="button" class="link-button" data-testid="edit-as-assembly"
                                    onclick={on_edit_as_asm}>{ "Edit as assembly" }</button>
                            </p>
                        }
                        <ProgramEditor text={text} readonly={!editable} on_change={on_edit}
                            on_run={dispatch(|| Action::Run)} marks={marks}
                            focus_line={store.focus_line} />
                    </section>
                    <section class="panel panel-map" aria-labelledby="map-heading">
                        <h2 id="map-heading">{ "Map" }</h2>
                        if store.workspace.scenario.is_socket_scenario() {
                            <SocketEditor map={Rc::new(store.workspace.scenario.map.clone())}
                                sockets={Rc::new(store.workspace.scenario.sockets.clone())}
                                on_change={on_sockets} />
                        } else {
                            <MapEditor map={Rc::new(store.workspace.scenario.map.clone())}
                                ncpus={store.workspace.ncpus} on_change={on_map}
                                key_fields={key_fields} value_fields={value_fields} />
                        }
                    </section>
                </div>
                <section class="panel panel-result" aria-labelledby="result-heading">
                    <h2 id="result-heading">{ "Run" }</h2>
                    <Toolbar busy={busy} can_step={can_step} progress={progress}
                        ncpus={store.workspace.ncpus} read_size={read_size}
                        on_cpus={on_cpus} on_read_size={on_read_size}
                        on_verify={dispatch(|| Action::Verify)}
                        on_step={dispatch(|| Action::Step)}
                        on_run={dispatch(|| Action::Run)}
                        on_cancel={dispatch(|| Action::Cancel)}
                        on_reset={dispatch(|| Action::Reset)} />
                    <label class="teaching-mode">
                        <input type="checkbox" data-testid="no-verify" checked={store.no_verify}
                            onchange={on_no_verify} />
                        { " Teaching mode: trace programs the verifier rejects (Linux never runs them)" }
                    </label>
                    if let Some(e) = store.error() {
                        <p class="run-error" data-testid="run-error" role="alert">
                            { "Error: " }{ e.to_string() }
                        </p>
                    }
                    if let Some(live) = live {
                        <Output live={live.clone()} view={store.output_view} {on_view}
                            on_download={on_download_output}
                            failing_line={failing_line(&store)} {on_goto} />
                        <Globals live={live.clone()} />
                        if store.no_verify && live.view().run.load() == "rejected" {
                            <button type="button" data-testid="trace-anyway"
                                onclick={on_trace.reform(|_: MouseEvent| 0)}>
                                { "Trace call 0 without the verifier" }
                            </button>
                        }
                        if let Some(t) = &store.trace {
                            <TracePanel state={t.clone()} on_move={on_trace_move}
                                on_toggle_breakpoint={on_toggle_breakpoint}
                                on_close={dispatch(|| Action::CloseTrace)} />
                        }
                        <Timeline live={live} selected={store.selected_call}
                            on_select={on_select_call} on_trace={on_trace.clone()} />
                    } else if busy == Some(Goal::Load) || busy.is_some() {
                        <p class="output-hint" role="status">{ "Loading…" }</p>
                    } else if store.error().is_none() {
                        <p class="output-hint">
                            { "Verify to see the verifier's verdict, Step to run one element, Run to \
                               run them all." }
                        </p>
                    }
                </section>
            </main>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::failing_insn;

    #[test]
    fn the_failing_instruction_comes_from_the_log() {
        let log = "0: R1=ctx() R10=fp0\n0: (79) r1 = *(u64 *)(r1 +16)\n1: (62) *(u32 *)(r1 +0) = 7\nR1 invalid mem access 'rdonly_buf_or_null'\n";
        assert_eq!(
            failing_insn(log, "R1 invalid mem access 'rdonly_buf_or_null'"),
            Some(1)
        );
        assert_eq!(failing_insn(log, ""), None);
    }
}
