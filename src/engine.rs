//! The one module of the page that calls the emulator: builds the workspace's program
//! (assembling `.s` text), starts a [`LiveRun`] (map fill, verifier, attach) and advances it
//! in slices, and turns objects into listings for the editor.
//!
//! A [`Worker`] performs one [`EngineTask`] slice by slice; each slice runs at most a given
//! number of program calls and returns the [`EngineEvent`]s to dispatch, so the caller (the
//! effect in [`crate::hooks`], or [`perform`] in native tests) decides when to yield to the
//! browser. The live run is shared as a [`LiveHandle`]: an `Rc<RefCell<…>>` plus a generation
//! number that changes whenever the run advanced, which is what the views compare.
//!
//! Not here: deciding what to run (the reducer in [`crate::state`]), the browser.

use std::cell::{Ref, RefCell};
use std::fmt;
use std::rc::Rc;

use iterscope_emulator::asm;
use iterscope_emulator::elf::typed::{self, FieldLeaf};
use iterscope_emulator::live::LiveRun;
use iterscope_emulator::scenario::{MapScenario, ObjectTypes, RunOptions};
use iterscope_emulator::trace::{self, Trace, TraceLimits};

use crate::state::{EngineEvent, EngineTask, Goal};
use crate::workspace::{ProgramDoc, Workspace};

/// What stopped the page from running the workspace (never a Linux verdict: a rejection by
/// the verifier is a normal outcome of the live run).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The assembly does not assemble.
    #[error("{file}:{line}:{col}: {message}")]
    Assemble {
        /// The program's file name.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// What is wrong.
        message: String,
    },
    /// The emulator refused the object or scenario, or stopped the program.
    #[error(transparent)]
    Emulator(#[from] iterscope_emulator::Error),
    /// Anything else, already worded for the user.
    #[error("{0}")]
    Build(String),
}

impl AppError {
    /// The editor line this error points at, if any.
    pub fn line(&self) -> Option<usize> {
        match self {
            AppError::Assemble { line, .. } => Some(*line),
            _ => None,
        }
    }
}

/// A loaded program's live run and what the page knows about its source.
#[derive(Debug)]
pub struct Session {
    /// The run.
    pub run: LiveRun,
    /// For assembly programs: the editor line of each instruction of the iterator program.
    pub asm_lines: Option<Vec<usize>>,
    /// The object's BTF, to decode globals (None without `.BTF`).
    pub types: Option<ObjectTypes>,
    /// BTF type ids of the iterated map's key and value, when known.
    key_value_types: (Option<u32>, Option<u32>),
    generation: u64,
}

/// One global variable, decoded for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalRow {
    /// `.bss`, `.data`, …
    pub section: String,
    /// The variable's name (`count`), or the section's name when its bytes are shown raw.
    pub name: String,
    /// The value (`42`, `{x=1, y=2}`) or hex bytes.
    pub value: String,
}

impl Session {
    /// Program invocations so far.
    pub fn calls(&self) -> usize {
        self.run.log().len()
    }

    /// Whether the last logged call is the final NULL call.
    pub fn last_call_is_stop(&self) -> bool {
        let log = self.run.log();
        log.len()
            .checked_sub(1)
            .and_then(|i| log.get(i))
            .is_some_and(|c| c.is_stop)
    }

    /// Bytes returned by read(2) so far.
    pub fn output(&self) -> &[u8] {
        self.run.output()
    }

    /// `ok` or `rejected`.
    pub fn load(&self) -> &str {
        self.run.load()
    }

    /// The global data sections as they are now: each variable decoded by its BTF type, or
    /// the section's bytes in hex when the object has no BTF for it.
    pub fn globals(&self) -> Vec<GlobalRow> {
        let mut rows = Vec::new();
        for g in self.run.globals() {
            let layout = self.types.as_ref().and_then(|t| {
                t.layouts
                    .iter()
                    .find(|l| l.section == g.section)
                    .map(|l| (t, l))
            });
            match layout {
                Some((t, l)) if !l.vars.is_empty() => {
                    for (name, v) in typed::decode_globals(&t.btf, l, &g.bytes) {
                        rows.push(GlobalRow {
                            section: g.section.clone(),
                            name,
                            value: match v {
                                Ok(v) => v.to_string(),
                                Err(e) => format!("({e})"),
                            },
                        });
                    }
                }
                _ => rows.push(GlobalRow {
                    section: g.section.clone(),
                    name: g.map_name.clone(),
                    value: iterscope_emulator::scenario::hex_encode(&g.bytes),
                }),
            }
        }
        rows
    }

    /// A key as its BTF type shows it (`{a=1, b=2}`), or hex without a type.
    pub fn show_key(&self, bytes: &[u8]) -> String {
        self.show(self.key_value_types.0, bytes)
    }

    /// A value as its BTF type shows it; a per-CPU value (one rounded-up slot per CPU) as
    /// `[cpu0, cpu1, …]`; hex without a type.
    pub fn show_value(&self, bytes: &[u8]) -> String {
        self.show(self.key_value_types.1, bytes)
    }

    fn show(&self, id: Option<u32>, bytes: &[u8]) -> String {
        let hex = || iterscope_emulator::scenario::hex_encode(bytes);
        let (Some(types), Some(id)) = (&self.types, id) else {
            return hex();
        };
        let Some(size) = types.btf.size_of(id).map(|s| s as usize).filter(|&s| s > 0) else {
            return hex();
        };
        let one = |b: &[u8]| typed::format_value(&types.btf, id, b).ok();
        if bytes.len() == size {
            return one(bytes).unwrap_or_else(hex);
        }
        let slot = size.div_ceil(8) * 8;
        if bytes.len().is_multiple_of(slot) {
            let cpus: Option<Vec<String>> = bytes.chunks(slot).map(|c| one(&c[..size])).collect();
            if let Some(cpus) = cpus {
                return format!("[{}]", cpus.join(", "));
            }
        }
        hex()
    }

    /// The editor line of instruction `insn`, for assembly programs.
    pub fn line_of_insn(&self, insn: usize) -> Option<usize> {
        self.asm_lines.as_ref()?.get(insn).copied()
    }
}

/// The live run shared between the state and the views.
#[derive(Clone)]
pub struct LiveHandle {
    cell: Rc<RefCell<Session>>,
    generation: u64,
}

impl LiveHandle {
    fn new(session: Session) -> LiveHandle {
        LiveHandle {
            cell: Rc::new(RefCell::new(session)),
            generation: 0,
        }
    }

    /// Borrows the session for reading (views borrow only while rendering).
    pub fn view(&self) -> Ref<'_, Session> {
        self.cell.borrow()
    }

    /// Whether the first read session is over (or there is none: rejected, attach failed).
    pub fn is_finished(&self) -> bool {
        self.cell.borrow().run.is_finished()
    }

    /// Whether both handles are the same live run (whatever their generations).
    pub fn same_run(&self, other: &LiveHandle) -> bool {
        Rc::ptr_eq(&self.cell, &other.cell)
    }

    /// Advances the run by at most `max_calls` calls; returns the handle of the new
    /// generation.
    fn advance(&self, max_calls: u64) -> Result<LiveHandle, iterscope_emulator::Error> {
        let mut s = self.cell.borrow_mut();
        let r = s.run.advance(max_calls);
        s.generation += 1;
        let generation = s.generation;
        drop(s);
        r.map(|_| LiveHandle {
            cell: self.cell.clone(),
            generation,
        })
    }
}

impl PartialEq for LiveHandle {
    fn eq(&self, other: &Self) -> bool {
        self.same_run(other) && self.generation == other.generation
    }
}

impl fmt::Debug for LiveHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cell.try_borrow() {
            Ok(s) => write!(
                f,
                "LiveHandle(load={}, calls={}, gen={})",
                s.run.load(),
                s.run.calls_done(),
                self.generation
            ),
            Err(_) => write!(f, "LiveHandle(busy, gen={})", self.generation),
        }
    }
}

/// The object bytes of `program` (assembled when it is assembly) and the editor line of each
/// instruction of its iterator program.
pub fn build(program: &ProgramDoc) -> Result<(Vec<u8>, Option<Vec<usize>>), AppError> {
    match program {
        ProgramDoc::Asm { name, text } => {
            let out = asm::assemble(text).map_err(|e| AppError::Assemble {
                file: name.clone(),
                line: e.line,
                col: e.col,
                message: e.kind.to_string(),
            })?;
            let lines = out
                .sections
                .iter()
                .find(|s| s.name.starts_with("iter/"))
                .map(|s| s.lines.clone());
            Ok((asm::write_object(&out), lines))
        }
        other => other
            .object_bytes()
            .map(|b| (b.to_vec(), None))
            .ok_or_else(|| AppError::Build(format!("no object for {}", other.file_name()))),
    }
}

/// Builds, loads, verifies and attaches `ws` (the map filled, nothing run yet).
pub fn start(ws: &Workspace) -> Result<LiveHandle, AppError> {
    let (object, mut asm_lines) = build(&ws.program)?;
    if asm_lines.is_none() {
        // An object is shown as its listing: map instructions to the listing's lines.
        asm_lines = listing(&ws.program).ok().and_then(|text| {
            let doc = ProgramDoc::Asm {
                name: ws.program.file_name(),
                text,
            };
            build(&doc).ok().and_then(|(_, lines)| lines)
        });
    }
    let opts = RunOptions {
        ncpus: ws.ncpus,
        record_calls: true,
        ..RunOptions::default()
    };
    let name = ws.program.file_name();
    let run = LiveRun::start(&ws.scenario, &object, &name, &opts)?;
    let types = ObjectTypes::load(&object, &name).ok().flatten();
    let key_value_types = types
        .as_ref()
        .map_or((None, None), |t| iter_type_ids(t, &ws.scenario.map));
    Ok(LiveHandle::new(Session {
        run,
        asm_lines,
        types,
        key_value_types,
        generation: 0,
    }))
}

/// The text the editor shows for `program`: the assembly itself, or an object's
/// disassembly with its C source lines (from BTF line info).
pub fn listing(program: &ProgramDoc) -> Result<String, AppError> {
    match program {
        ProgramDoc::Asm { text, .. } => Ok(text.clone()),
        other => {
            let (bytes, _) = build(other)?;
            let obj = iterscope_emulator::elf::parse(&bytes, &other.file_name())
                .map_err(|e| AppError::Build(format!("{}: {e}", other.file_name())))?;
            Ok(asm::object_to_asm(&obj))
        }
    }
}

/// A key's or value's BTF fields, shared with the map editor.
pub type Fields = Rc<[FieldLeaf]>;

/// The BTF type ids of the iterated map's key and value: the scenario's `key_type` /
/// `value_type` when set, else guessed from the program's source lines
/// (`struct key_t *key = ctx->key;`).
fn iter_type_ids(types: &ObjectTypes, map: &MapScenario) -> (Option<u32>, Option<u32>) {
    let (inferred_key, inferred_value) = types.program.as_ref().map_or((None, None), |p| {
        typed::infer_iter_types(&types.btf, p, map.key_size, map.value_size)
    });
    let id = |named: &Option<String>, inferred: Option<typed::InferredType>| match named {
        Some(name) => typed::find_type(&types.btf, name).ok(),
        None => inferred.map(|t| t.type_id),
    };
    (
        id(&map.key_type, inferred_key),
        id(&map.value_type, inferred_value),
    )
}

/// The BTF field layouts of the iterated map's key and value, for the map editor; `None`
/// where no type is known (hex editing).
pub fn map_fields(ws: &Workspace) -> (Option<Fields>, Option<Fields>) {
    let Ok((object, _)) = build(&ws.program) else {
        return (None, None);
    };
    let Ok(Some(types)) = ObjectTypes::load(&object, &ws.program.file_name()) else {
        return (None, None);
    };
    let (key, value) = iter_type_ids(&types, &ws.scenario.map);
    let layout = |id: Option<u32>| {
        let leaves = typed::leaves(&types.btf, id?).ok()?;
        (!leaves.is_empty()).then(|| Rc::from(leaves))
    };
    (layout(key), layout(value))
}

/// A shell script of `bpftool` commands that creates and fills the map and runs the
/// program on a real kernel (errors worded for the user).
pub fn bpftool_script(ws: &Workspace) -> Result<String, String> {
    let sc = ws.scenario_for_export();
    iterscope_emulator::export::bpftool_script(&sc, &sc.program, ws.ncpus)
        .map_err(|e| e.to_string())
}

/// The instruction trace of call `call` of the first read session (the scenario replayed up
/// to it, the call traced and cross-checked against rbpf); `no_verify` traces a program the
/// verifier rejects (teaching mode).
pub fn trace(ws: &Workspace, call: u64, no_verify: bool) -> Result<Trace, AppError> {
    let (object, _) = build(&ws.program)?;
    let opts = RunOptions {
        ncpus: ws.ncpus,
        ..RunOptions::default()
    };
    Ok(trace::trace_call(
        &ws.scenario,
        &object,
        &ws.program.file_name(),
        &opts,
        call,
        &TraceLimits::default(),
        no_verify,
    )?)
}

/// Performs an [`EngineTask`] in slices.
#[derive(Debug)]
pub struct Worker {
    task: EngineTask,
    live: Option<LiveHandle>,
    done: bool,
}

impl Worker {
    /// A worker for `task`.
    pub fn new(task: EngineTask) -> Worker {
        let live = task.live.clone();
        Worker {
            task,
            live,
            done: false,
        }
    }

    /// Whether the task is complete.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Does the next slice of work (loading counts as one slice), running at most
    /// `max_calls` program calls, and returns the events to dispatch.
    pub fn slice(&mut self, max_calls: u64) -> Vec<EngineEvent> {
        if self.done {
            return Vec::new();
        }
        let Some(live) = self.live.clone() else {
            return match start(&self.task.workspace) {
                Ok(live) => {
                    self.live = Some(live.clone());
                    let mut events = vec![EngineEvent::Loaded(live.clone())];
                    if self.task.goal == Goal::Load || live.is_finished() {
                        self.done = true;
                        events.push(EngineEvent::Done(live));
                    }
                    events
                }
                Err(e) => self.fail(e, None),
            };
        };
        if live.is_finished() {
            self.done = true;
            return vec![EngineEvent::Done(live)];
        }
        let budget = match self.task.goal {
            Goal::Load => 0,
            Goal::Step => 1,
            Goal::ToEnd => max_calls.max(1),
        };
        match live.advance(budget) {
            Ok(next) => {
                self.live = Some(next.clone());
                if self.task.goal != Goal::ToEnd || next.is_finished() {
                    self.done = true;
                    vec![EngineEvent::Done(next)]
                } else {
                    vec![EngineEvent::Progress(next)]
                }
            }
            Err(e) => self.fail(AppError::from(e), Some(live)),
        }
    }

    fn fail(&mut self, error: AppError, live: Option<LiveHandle>) -> Vec<EngineEvent> {
        self.done = true;
        vec![EngineEvent::Failed {
            error: Rc::new(error),
            live,
        }]
    }
}

/// Performs `task` to completion without yielding (native tests), calling `emit` for each
/// event and stopping early when `cancelled` says so.
pub fn perform(task: &EngineTask, emit: &mut dyn FnMut(EngineEvent), cancelled: &dyn Fn() -> bool) {
    let mut w = Worker::new(task.clone());
    while !w.is_done() && !cancelled() {
        for e in w.slice(u64::MAX) {
            emit(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples::EXAMPLES;

    #[test]
    fn assembly_errors_carry_file_and_line() {
        let doc = ProgramDoc::Asm {
            name: "t.s".into(),
            text: "r0 = 0\n    r0 = *(u64 *)(r11 +0)\nexit\n".into(),
        };
        let e = build(&doc).expect_err("r11 is no register");
        assert_eq!(e.line(), Some(2));
        assert!(e.to_string().starts_with("t.s:2:"), "{e}");
    }

    #[test]
    fn assembly_lines_follow_instructions() {
        let doc = ProgramDoc::Asm {
            name: "t.s".into(),
            text: ".section \"iter/bpf_map_elem\"\n; c\n    r0 = 0 ll\n\n    exit\n".into(),
        };
        let (_, lines) = build(&doc).expect("assembles");
        assert_eq!(lines, Some(vec![3, 3, 5]));
    }

    #[test]
    fn every_example_lists_and_the_listing_assembles() {
        for e in EXAMPLES {
            let doc = Workspace::from_example(e).expect("embedded").program;
            let text = listing(&doc).unwrap_or_else(|err| panic!("{}: {err}", e.name));
            assert!(text.contains("\"iter/bpf_"), "{}", e.name);
            let asm = ProgramDoc::Asm {
                name: "x.s".into(),
                text,
            };
            assert!(build(&asm).is_ok(), "{}: listing does not assemble", e.name);
        }
    }

    #[test]
    fn keys_and_values_show_by_their_btf_types() {
        let plain = start(&Workspace::default_example()).expect("loads");
        let v = plain.view();
        assert_eq!(v.show_key(&[42, 0, 0, 0]), "42");
        assert_eq!(v.show_value(&[0xc8, 0, 0, 0, 0, 0, 0, 0]), "200");
        assert_eq!(v.show_value(&[1, 2, 3]), "010203", "a wrong size stays hex");
        // A per-CPU value: one 8-byte slot per CPU (lru_percpu_hash_survivors reads __u64).
        let ex = crate::examples::find("lru_percpu_hash_survivors").expect("the example");
        let live = start(&Workspace::from_example(ex).expect("workspace")).expect("loads");
        let s = live.view();
        let two = [7u8, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0];
        let shown = s.show_value(&two);
        assert!(shown == "[7, 9]" || shown.starts_with('['), "{shown}");
        // No type known: hex.
        let ex = crate::examples::find("selftest_percpu_hash_map").expect("the example");
        let live = start(&Workspace::from_example(ex).expect("workspace")).expect("loads");
        assert_eq!(live.view().show_key(&[1, 0, 0, 0]), "01000000");
    }

    #[test]
    fn globals_are_decoded_by_their_btf_types() {
        let ws = Workspace::default_example();
        let live = start(&ws).expect("loads");
        let task = EngineTask {
            task: 1,
            goal: Goal::ToEnd,
            live: Some(live.clone()),
            workspace: Rc::new(ws),
        };
        perform(&task, &mut |_| {}, &|| false);
        let rows = live.view().globals();
        assert!(!rows.is_empty());
        for r in &rows {
            assert!(r.section.starts_with('.'), "{r:?}");
            assert!(
                !r.name.starts_with('.') && !r.name.contains(".bss"),
                "{r:?} is decoded"
            );
            assert!(!r.value.starts_with('('), "{r:?} decodes");
        }
    }

    #[test]
    fn a_rejected_load_points_at_its_editor_line() {
        let text = ".section \"iter/bpf_map_elem\"\n    r1 = *(u64 *)(r1 +16)\n    if r1 == 0 goto +1\n    *(u32 *)(r1 +0) = 7\n    r0 = 0\n    exit\n";
        let mut ws = Workspace::default_example();
        ws.program = ProgramDoc::Asm {
            name: "w.s".into(),
            text: text.into(),
        };
        let live = start(&ws).expect("loads");
        let s = live.view();
        assert_eq!(s.load(), "rejected");
        assert_eq!(s.line_of_insn(2), Some(4));
    }
}
