//! The playground's state: one [`PlaygroundState`], one [`Action`] enum, one pure reducer.
//!
//! The state holds the user's [`Workspace`] (program, map scenario, CPUs — what autosave and
//! share links keep), the run, and view preferences. The reducer never calls the emulator:
//! [`Action::Verify`], [`Action::Step`] and [`Action::Run`] only set an engine goal with a
//! fresh task id ([`RunState::Busy`]); the engine effect in [`crate::hooks`] performs it on a
//! live run ([`LiveHandle`]) and reports back with [`Action::Engine`] messages carrying that
//! task id. Messages of a task that is no longer current (the user cancelled, edited, or
//! started something else) are dropped. Any edit of the workspace drops the live run, so the
//! next run starts from the edited program and map. An action that changes nothing returns
//! the very same `Rc`, so Yew skips the re-render.
//!
//! Not here: the browser (storage, URL, files — see [`crate::hooks`]), running anything.

use std::collections::BTreeSet;
use std::rc::Rc;

use iterscope_emulator::scenario::{MapScenario, Scenario};
use iterscope_emulator::sock::SocketSpec;
use iterscope_emulator::trace::Trace;
use yew::{Reducible, UseReducerHandle};

use crate::engine::{AppError, LiveHandle};
use crate::examples;
use crate::stepper;
use crate::workspace::{Imported, ProgramDoc, Workspace};

/// The CPU counts the toolbar offers (the kernel oracle recorded with 2).
pub const CPU_CHOICES: [u32; 4] = [1, 2, 4, 8];

/// Largest `read(2)` size the page accepts (the kernel caps a read at what fits its buffer
/// anyway; this only keeps the input sane).
pub const MAX_READ_SIZE: usize = 1 << 24;

/// What the engine is asked to do with the live run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// Load (verify) and attach, run nothing.
    Load,
    /// Run the next program invocation.
    Step,
    /// Run to the end of the first read session.
    ToEnd,
}

/// Where the run stands.
#[derive(Debug, Clone)]
pub enum RunState {
    /// Nothing loaded since the last edit.
    Idle,
    /// The engine works on `goal` (the live run is None until it is loaded).
    Busy {
        /// Id that the engine's messages must carry.
        task: u64,
        /// What to do.
        goal: Goal,
        /// The live run, once loaded.
        live: Option<LiveHandle>,
    },
    /// Loaded and waiting (maybe finished): step or run on.
    Ready {
        /// The live run.
        live: LiveHandle,
    },
    /// Building, loading or running failed with something Linux would not do (bad assembly,
    /// a malformed object, an engine stop).
    Failed {
        /// The error, typed.
        error: Rc<AppError>,
        /// The live run as far as it got, if it was loaded.
        live: Option<LiveHandle>,
    },
}

impl PartialEq for RunState {
    /// Errors compare by identity: two failures are equal only if they are the same one.
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (RunState::Idle, RunState::Idle) => true,
            (
                RunState::Busy { task, goal, live },
                RunState::Busy {
                    task: t2,
                    goal: g2,
                    live: l2,
                },
            ) => task == t2 && goal == g2 && live == l2,
            (RunState::Ready { live }, RunState::Ready { live: l2 }) => live == l2,
            (
                RunState::Failed { error, live },
                RunState::Failed {
                    error: e2,
                    live: l2,
                },
            ) => Rc::ptr_eq(error, e2) && live == l2,
            _ => false,
        }
    }
}

/// A message from the engine effect about task `task`.
#[derive(Debug, Clone)]
pub enum EngineEvent {
    /// The program was built, verified and attached (or rejected): here is the live run.
    Loaded(LiveHandle),
    /// The live run advanced (its generation changed).
    Progress(LiveHandle),
    /// The goal is reached (or the run finished).
    Done(LiveHandle),
    /// It failed.
    Failed {
        /// Why.
        error: Rc<AppError>,
        /// The live run, if it was loaded.
        live: Option<LiveHandle>,
    },
}

/// How the seq output is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputView {
    /// As text.
    #[default]
    Text,
    /// As a hex dump.
    Hex,
}

/// Where the instruction trace of one call stands.
#[derive(Debug, Clone)]
pub enum TraceStatus {
    /// Being produced (the scenario is replayed up to the call).
    Loading,
    /// The trace.
    Ready(Rc<Trace>),
    /// Why there is none.
    Failed(String),
}

impl PartialEq for TraceStatus {
    /// Traces compare by identity (they can hold 100,000 steps).
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (TraceStatus::Loading, TraceStatus::Loading) => true,
            (TraceStatus::Ready(a), TraceStatus::Ready(b)) => Rc::ptr_eq(a, b),
            (TraceStatus::Failed(a), TraceStatus::Failed(b)) => a == b,
            _ => false,
        }
    }
}

/// The open instruction trace: which call, the position and the breakpoints.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceState {
    /// The call (0-based, every invocation counted, as the timeline numbers them).
    pub call: u64,
    /// Traced without the verifier (teaching mode).
    pub no_verify: bool,
    /// The trace or its state.
    pub status: TraceStatus,
    /// The next step to execute (see [`crate::stepper`]).
    pub pos: usize,
    /// Instruction indexes to stop at.
    pub breakpoints: BTreeSet<usize>,
    /// Id that the loaded trace must carry.
    pub request: u64,
}

/// A move through the open trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceMove {
    /// One instruction forward.
    Forward,
    /// One instruction back.
    Back,
    /// Before the first instruction.
    Start,
    /// After the last one.
    End,
    /// Forward to the next breakpoint (or the end).
    Continue,
    /// Forward to the next helper call (or the end).
    NextHelper,
    /// To this position.
    To(usize),
}

/// What the trace effect must produce.
#[derive(Debug, Clone)]
pub struct TraceRequest {
    /// Echoed in [`Action::TraceLoaded`].
    pub request: u64,
    /// The call to trace.
    pub call: u64,
    /// Teaching mode.
    pub no_verify: bool,
    /// The workspace to replay.
    pub workspace: Rc<Workspace>,
}

impl PartialEq for TraceRequest {
    fn eq(&self, other: &Self) -> bool {
        self.request == other.request
    }
}

/// A one-line message for the user (restored a share link, an import failed, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Shown as an alert when true, as a status otherwise.
    pub is_error: bool,
    /// The text.
    pub text: String,
}

/// Everything the page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaygroundState {
    /// The user's work.
    pub workspace: Rc<Workspace>,
    /// The run.
    pub run: RunState,
    /// Text or hex output.
    pub output_view: OutputView,
    /// The timeline row whose details are open.
    pub selected_call: Option<usize>,
    /// The last produced share link.
    pub share_url: Option<String>,
    /// A message for the user.
    pub notice: Option<Notice>,
    /// The editor line to show (the failing instruction, after a click in the log).
    pub focus_line: Option<usize>,
    /// The open instruction trace.
    pub trace: Option<TraceState>,
    /// Teaching mode: trace programs the verifier rejects (Linux never runs them).
    pub no_verify: bool,
    /// The example being loaded (its files are fetched), if any.
    pub loading_example: Option<String>,
    next_task: u64,
}

#[cfg(feature = "embed-examples")]
impl Default for PlaygroundState {
    fn default() -> Self {
        Self::with_workspace(Workspace::default_example(), None)
    }
}

impl PlaygroundState {
    /// A fresh page showing `workspace`, with an optional notice (e.g. "restored").
    pub fn with_workspace(workspace: Workspace, notice: Option<Notice>) -> Self {
        Self {
            workspace: Rc::new(workspace),
            run: RunState::Idle,
            output_view: OutputView::Text,
            selected_call: None,
            share_url: None,
            notice,
            focus_line: None,
            trace: None,
            no_verify: false,
            loading_example: None,
            next_task: 1,
        }
    }

    /// The engine task to perform now, if any.
    pub fn engine_task(&self) -> Option<EngineTask> {
        match &self.run {
            RunState::Busy { task, goal, live } => Some(EngineTask {
                task: *task,
                goal: *goal,
                live: live.clone(),
                workspace: self.workspace.clone(),
            }),
            _ => None,
        }
    }

    /// A page that shows an empty program while example `name` loads.
    pub fn loading(name: &str) -> Self {
        Self {
            loading_example: Some(name.to_owned()),
            ..Self::with_workspace(Workspace::placeholder(), None)
        }
    }

    /// The example whose files the example effect should load now, if any.
    pub fn example_request(&self) -> Option<String> {
        self.loading_example.clone()
    }

    /// The trace the trace effect should produce now, if any.
    pub fn trace_request(&self) -> Option<TraceRequest> {
        let t = self.trace.as_ref()?;
        (t.status == TraceStatus::Loading).then(|| TraceRequest {
            request: t.request,
            call: t.call,
            no_verify: t.no_verify,
            workspace: self.workspace.clone(),
        })
    }

    /// Whether the engine is working.
    pub fn is_busy(&self) -> bool {
        matches!(self.run, RunState::Busy { .. })
    }

    /// The live run to show, if any.
    pub fn live(&self) -> Option<&LiveHandle> {
        match &self.run {
            RunState::Idle => None,
            RunState::Busy { live, .. } | RunState::Failed { live, .. } => live.as_ref(),
            RunState::Ready { live } => Some(live),
        }
    }

    /// The failure to show, if any.
    pub fn error(&self) -> Option<&AppError> {
        match &self.run {
            RunState::Failed { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The selected example's name, when the program is one.
    pub fn example_name(&self) -> Option<&str> {
        self.loading_example
            .as_deref()
            .or(self.workspace.example.as_deref())
    }

    fn take_task(&self) -> (u64, u64) {
        (self.next_task, self.next_task + 1)
    }

    /// `self` with the workspace changed by `edit` and the run dropped; the same `Rc` when
    /// nothing changed.
    fn edited(self: Rc<Self>, edit: impl FnOnce(&mut Workspace)) -> Rc<Self> {
        let mut ws = (*self.workspace).clone();
        edit(&mut ws);
        if ws == *self.workspace {
            return self;
        }
        Rc::new(Self {
            workspace: Rc::new(ws),
            run: RunState::Idle,
            selected_call: None,
            share_url: None,
            focus_line: None,
            trace: None,
            ..(*self).clone()
        })
    }

    fn busy(self: Rc<Self>, goal: Goal, live: Option<LiveHandle>) -> Rc<Self> {
        let (task, next_task) = self.take_task();
        let keep_selection = live.is_some();
        Rc::new(Self {
            run: RunState::Busy { task, goal, live },
            next_task,
            selected_call: if keep_selection {
                self.selected_call
            } else {
                None
            },
            ..(*self).clone()
        })
    }

    fn with_run(self: Rc<Self>, run: RunState) -> Rc<Self> {
        Rc::new(Self {
            run,
            ..(*self).clone()
        })
    }

    fn with_notice(self: Rc<Self>, is_error: bool, text: String) -> Rc<Self> {
        Rc::new(Self {
            notice: Some(Notice { is_error, text }),
            ..(*self).clone()
        })
    }
}

/// What the engine effect must do: compared by task id and goal only, so progress messages
/// (which change the live run's generation) do not restart it.
#[derive(Debug, Clone)]
pub struct EngineTask {
    /// The id its messages carry.
    pub task: u64,
    /// What to do.
    pub goal: Goal,
    /// The live run to continue (None: build and load first).
    pub live: Option<LiveHandle>,
    /// The workspace to build from.
    pub workspace: Rc<Workspace>,
}

impl PartialEq for EngineTask {
    fn eq(&self, other: &Self) -> bool {
        self.task == other.task && self.goal == other.goal
    }
}

/// Everything that can happen to the page.
#[derive(Debug, Clone)]
pub enum Action {
    /// Load the example with this name and its scenario (unknown names are ignored); its
    /// files arrive with [`Action::ExampleLoaded`].
    SelectExample(String),
    /// An example's files, or why they could not be loaded.
    ExampleLoaded {
        /// The example.
        name: String,
        /// Its files.
        result: Result<Box<examples::ExampleFiles>, String>,
    },
    /// The editor's text changed: the program becomes that assembly.
    EditAssembly(String),
    /// Replace the program (an uploaded object, an imported `.s`, or the object's
    /// disassembly turned into editable assembly).
    SetProgram(ProgramDoc),
    /// The map editor produced a new map.
    SetMap(MapScenario),
    /// The socket editor produced a new sk_storage map and socket list.
    SetSockets(MapScenario, Vec<SocketSpec>),
    /// Set the emulated CPU count (values outside [`CPU_CHOICES`] are ignored).
    SetCpus(u32),
    /// Set the first read session's read(2) size (0 or above [`MAX_READ_SIZE`] is ignored).
    SetReadSize(usize),
    /// An imported file (scenario, workspace or program).
    Import(Imported),
    /// Replace everything (a share link or a saved workspace), with a notice.
    Restore(Box<Workspace>, String),
    /// Verify and attach from scratch.
    Verify,
    /// Run one more program invocation (loading first if needed).
    Step,
    /// Run to the end (continuing a paused run; restarting a finished one).
    Run,
    /// Stop a run to the end where it is.
    Cancel,
    /// Drop the live run.
    Reset,
    /// A message from the engine.
    Engine {
        /// The task it is about.
        task: u64,
        /// What happened.
        event: EngineEvent,
    },
    /// Show the output as text or hex.
    SetOutputView(OutputView),
    /// Open (Some) or close (None) a timeline row's details.
    SelectCall(Option<usize>),
    /// A share link was produced.
    Shared(String),
    /// Show a message.
    Notify {
        /// Alert or status.
        is_error: bool,
        /// The text.
        text: String,
    },
    /// Dismiss the message.
    DismissNotice,
    /// Show this editor line.
    FocusLine(usize),
    /// Trace the instructions of call N (0-based, as the timeline numbers calls).
    OpenTrace(u64),
    /// The trace effect's answer for request `request`.
    TraceLoaded {
        /// The id from [`TraceRequest::request`].
        request: u64,
        /// The trace, or why there is none.
        result: Result<Rc<Trace>, String>,
    },
    /// Move through the open trace.
    MoveTrace(TraceMove),
    /// Set or clear a breakpoint at an instruction index.
    ToggleBreakpoint(usize),
    /// Close the trace.
    CloseTrace,
    /// Switch teaching mode (tracing without the verifier).
    SetNoVerify(bool),
}

impl Reducible for PlaygroundState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        match action {
            Action::SelectExample(name) => {
                if self.example_name() == Some(name.as_str()) || examples::find(&name).is_none() {
                    return self;
                }
                Rc::new(Self {
                    loading_example: Some(name),
                    run: RunState::Idle,
                    trace: None,
                    selected_call: None,
                    ..(*self).clone()
                })
            }
            Action::ExampleLoaded { name, result } => {
                if self.loading_example.as_deref() != Some(name.as_str()) {
                    return self;
                }
                let Some(example) = examples::find(&name) else {
                    return self;
                };
                let done = Rc::new(Self {
                    loading_example: None,
                    ..(*self).clone()
                });
                match result {
                    Ok(files) => {
                        let ncpus = done.workspace.ncpus;
                        done.edited(|w| *w = Workspace::from_example_files(example, &files, ncpus))
                    }
                    Err(e) => done.with_notice(true, e),
                }
            }
            Action::EditAssembly(text) => self.edited(|w| {
                let name = match &w.program {
                    ProgramDoc::Asm { name, .. } => name.clone(),
                    other => asm_name(&other.file_name()),
                };
                w.program = ProgramDoc::Asm { name, text };
                w.example = None;
            }),
            Action::SetProgram(program) => self.edited(|w| {
                w.program = program;
                w.example = None;
            }),
            Action::SetMap(map) => self.edited(|w| w.scenario.map = map),
            Action::SetSockets(map, sockets) => self.edited(|w| {
                w.scenario.map = map;
                w.scenario.sockets = sockets;
            }),
            Action::SetCpus(n) if CPU_CHOICES.contains(&n) => self.edited(|w| w.ncpus = n),
            Action::SetCpus(_) => self,
            Action::SetReadSize(n) if (1..=MAX_READ_SIZE).contains(&n) => {
                self.edited(|w| match w.scenario.reads.first_mut() {
                    Some(r) => r.read_size = n,
                    None => w.scenario.reads.push(read_spec(n)),
                })
            }
            Action::SetReadSize(_) => self,
            Action::Import(Imported::Program(program)) => self.edited(|w| {
                w.program = program;
                w.example = None;
            }),
            Action::Import(Imported::Scenario(sc)) => self.edited(|w| {
                let program = w.scenario.program.clone();
                w.scenario = Scenario { program, ..*sc };
            }),
            Action::Import(Imported::Workspace(ws)) => self
                .edited(|w| *w = *ws)
                .with_notice(false, "Imported the saved workspace.".into()),
            Action::Restore(ws, text) => Rc::new(Self {
                notice: Some(Notice {
                    is_error: false,
                    text,
                }),
                ..Self::with_workspace(*ws, None)
            }),
            Action::Verify if self.is_busy() => self,
            Action::Verify => self.busy(Goal::Load, None),
            Action::Step => match &self.run {
                RunState::Busy { .. } => self,
                RunState::Ready { live } if !live.is_finished() => {
                    let live = live.clone();
                    self.busy(Goal::Step, Some(live))
                }
                RunState::Ready { .. } => self,
                RunState::Idle | RunState::Failed { .. } => self.busy(Goal::Step, None),
            },
            Action::Run => match &self.run {
                RunState::Busy { .. } => self,
                RunState::Ready { live } if !live.is_finished() => {
                    let live = live.clone();
                    self.busy(Goal::ToEnd, Some(live))
                }
                _ => self.busy(Goal::ToEnd, None),
            },
            Action::Cancel => match &self.run {
                RunState::Busy {
                    live: Some(live), ..
                } => {
                    let live = live.clone();
                    self.with_run(RunState::Ready { live })
                }
                RunState::Busy { live: None, .. } => self.with_run(RunState::Idle),
                _ => self,
            },
            Action::Reset => match self.run {
                RunState::Idle => self,
                _ => Rc::new(Self {
                    run: RunState::Idle,
                    selected_call: None,
                    ..(*self).clone()
                }),
            },
            Action::Engine { task, event } => {
                let current = match &self.run {
                    RunState::Busy { task: t, goal, .. } if *t == task => *goal,
                    _ => return self,
                };
                let run = match event {
                    EngineEvent::Loaded(live) | EngineEvent::Progress(live) => RunState::Busy {
                        task,
                        goal: current,
                        live: Some(live),
                    },
                    EngineEvent::Done(live) => RunState::Ready { live },
                    EngineEvent::Failed { error, live } => RunState::Failed { error, live },
                };
                self.with_run(run)
            }
            Action::SetOutputView(v) if v == self.output_view => self,
            Action::SetOutputView(output_view) => Rc::new(Self {
                output_view,
                ..(*self).clone()
            }),
            Action::SelectCall(c) if c == self.selected_call => self,
            Action::SelectCall(selected_call) => Rc::new(Self {
                selected_call,
                ..(*self).clone()
            }),
            Action::Shared(url) => Rc::new(Self {
                share_url: Some(url),
                ..(*self).clone()
            }),
            Action::Notify { is_error, text } => self.with_notice(is_error, text),
            Action::FocusLine(line) if self.focus_line == Some(line) => self,
            Action::FocusLine(line) => Rc::new(Self {
                focus_line: Some(line),
                ..(*self).clone()
            }),
            Action::OpenTrace(call) => {
                let (request, next_task) = self.take_task();
                let breakpoints = self
                    .trace
                    .as_ref()
                    .map(|t| t.breakpoints.clone())
                    .unwrap_or_default();
                Rc::new(Self {
                    trace: Some(TraceState {
                        call,
                        no_verify: self.no_verify,
                        status: TraceStatus::Loading,
                        pos: 0,
                        breakpoints,
                        request,
                    }),
                    next_task,
                    ..(*self).clone()
                })
            }
            Action::TraceLoaded { request, result } => match &self.trace {
                Some(t) if t.request == request && t.status == TraceStatus::Loading => {
                    let status = match result {
                        Ok(trace) => TraceStatus::Ready(trace),
                        Err(e) => TraceStatus::Failed(e),
                    };
                    let trace = Some(TraceState {
                        status,
                        ..t.clone()
                    });
                    Rc::new(Self {
                        trace,
                        ..(*self).clone()
                    })
                }
                _ => self,
            },
            Action::MoveTrace(m) => {
                let Some(t) = &self.trace else { return self };
                let TraceStatus::Ready(trace) = &t.status else {
                    return self;
                };
                let n = trace.steps.len();
                let pos = match m {
                    TraceMove::Forward => (t.pos + 1).min(n),
                    TraceMove::Back => t.pos.saturating_sub(1),
                    TraceMove::Start => 0,
                    TraceMove::End => n,
                    TraceMove::Continue => stepper::continue_to(trace, t.pos, &t.breakpoints),
                    TraceMove::NextHelper => stepper::next_helper(trace, t.pos),
                    TraceMove::To(p) => p.min(n),
                };
                if pos == t.pos {
                    return self;
                }
                let trace = Some(TraceState { pos, ..t.clone() });
                Rc::new(Self {
                    trace,
                    ..(*self).clone()
                })
            }
            Action::ToggleBreakpoint(pc) => {
                let Some(t) = &self.trace else { return self };
                let mut t = t.clone();
                if !t.breakpoints.remove(&pc) {
                    t.breakpoints.insert(pc);
                }
                Rc::new(Self {
                    trace: Some(t),
                    ..(*self).clone()
                })
            }
            Action::CloseTrace if self.trace.is_none() => self,
            Action::CloseTrace => Rc::new(Self {
                trace: None,
                ..(*self).clone()
            }),
            Action::SetNoVerify(on) if on == self.no_verify => self,
            Action::SetNoVerify(no_verify) => Rc::new(Self {
                no_verify,
                trace: None,
                ..(*self).clone()
            }),
            Action::DismissNotice if self.notice.is_none() => self,
            Action::DismissNotice => Rc::new(Self {
                notice: None,
                ..(*self).clone()
            }),
        }
    }
}

/// `prog.bpf.o` → `prog.s`.
fn asm_name(file: &str) -> String {
    let stem = file
        .strip_suffix(".bpf.o")
        .or_else(|| file.strip_suffix(".o"))
        .or_else(|| file.strip_suffix(".s"))
        .unwrap_or(file);
    format!("{stem}.s")
}

fn read_spec(read_size: usize) -> iterscope_emulator::scenario::ReadSpec {
    iterscope_emulator::scenario::ReadSpec { read_size }
}

/// The store every component reaches through context.
pub type StoreContext = UseReducerHandle<PlaygroundState>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine;

    fn start() -> Rc<PlaygroundState> {
        Rc::new(PlaygroundState::default())
    }

    /// Picks an example and delivers its (embedded) files, as the example effect would.
    fn select(s: Rc<PlaygroundState>, name: &str) -> Rc<PlaygroundState> {
        let s = s.reduce(Action::SelectExample(name.into()));
        assert_eq!(s.example_request().as_deref(), Some(name));
        s.reduce(Action::ExampleLoaded {
            name: name.into(),
            result: examples::embedded(name).map(Box::new),
        })
    }

    fn task_of(s: &PlaygroundState) -> EngineTask {
        s.engine_task().expect("a pending engine task")
    }

    /// Performs `s`'s engine task for real, as the effect would, and feeds the messages back.
    fn perform(s: Rc<PlaygroundState>) -> Rc<PlaygroundState> {
        let t = task_of(&s);
        let mut events = Vec::new();
        engine::perform(&t, &mut |e| events.push(e), &|| false);
        events.into_iter().fold(s, |s, event| {
            s.reduce(Action::Engine {
                task: t.task,
                event,
            })
        })
    }

    #[test]
    fn default_is_the_first_example_idle() {
        let s = start();
        assert_eq!(s.example_name(), Some(examples::EXAMPLES[0].name));
        assert_eq!(s.workspace.ncpus, 2);
        assert_eq!(s.run, RunState::Idle);
        assert!(s.engine_task().is_none());
    }

    #[test]
    fn no_op_actions_return_the_same_rc() {
        let s = start();
        let name = s.example_name().map(str::to_owned).unwrap_or_default();
        for a in [
            Action::SelectExample(name),
            Action::SelectExample("no_such_example".into()),
            Action::SetCpus(2),
            Action::SetCpus(3),
            Action::SetReadSize(0),
            Action::Cancel,
            Action::Reset,
            Action::SetOutputView(OutputView::Text),
            Action::SelectCall(None),
            Action::DismissNotice,
            Action::Engine {
                task: 99,
                event: EngineEvent::Failed {
                    error: Rc::new(AppError::Build("stray".into())),
                    live: None,
                },
            },
        ] {
            let label = format!("{a:?}");
            assert!(Rc::ptr_eq(&s, &s.clone().reduce(a)), "{label}");
        }
        let busy = s.reduce(Action::Run);
        assert!(Rc::ptr_eq(&busy, &busy.clone().reduce(Action::Run)));
        assert!(Rc::ptr_eq(&busy, &busy.clone().reduce(Action::Verify)));
    }

    #[test]
    fn run_to_end_finishes_with_the_null_call() {
        let s = perform(start().reduce(Action::Run));
        let live = s.live().expect("a live run");
        assert!(matches!(s.run, RunState::Ready { .. }), "{:?}", s.run);
        assert!(live.is_finished());
        let view = live.view();
        assert!(view.calls() > 0);
        assert!(view.last_call_is_stop());
        assert!(!view.output().is_empty());
        assert!(Rc::ptr_eq(&s, &s.clone().reduce(Action::Step)));
    }

    #[test]
    fn steps_one_call_at_a_time_then_runs_on() {
        let s = perform(start().reduce(Action::Verify));
        let live = s.live().expect("loaded").clone();
        assert_eq!(live.view().calls(), 0);
        let s = perform(s.reduce(Action::Step));
        assert_eq!(s.live().map(|l| l.view().calls()), Some(1));
        let s = perform(s.reduce(Action::Step));
        let after_two = s.live().expect("still live");
        assert_eq!(after_two.view().calls(), 2);
        assert!(after_two.same_run(&live), "stepping continues the same run");
        let s = perform(s.reduce(Action::Run));
        let done = s.live().expect("finished");
        assert!(done.same_run(&live) && done.is_finished());
    }

    #[test]
    fn examples_load_before_they_replace_the_work() {
        let s = start().reduce(Action::SelectExample("array_sum".into()));
        assert_eq!(s.example_name(), Some("array_sum"));
        assert_eq!(
            s.workspace.example.as_deref(),
            Some("hash_dump"),
            "not replaced yet"
        );
        let late = Action::ExampleLoaded {
            name: "missing_null_check".into(),
            result: examples::embedded("missing_null_check").map(Box::new),
        };
        assert!(
            Rc::ptr_eq(&s, &s.clone().reduce(late)),
            "only the requested one counts"
        );
        let failed = s.clone().reduce(Action::ExampleLoaded {
            name: "array_sum".into(),
            result: Err("cannot load examples/array_sum.json: HTTP 404".into()),
        });
        assert!(failed.loading_example.is_none());
        assert!(failed
            .notice
            .as_ref()
            .is_some_and(|n| n.is_error && n.text.contains("404")));
        assert_eq!(failed.workspace, s.workspace, "the work is kept");
        let loaded = select(start(), "array_sum");
        assert_eq!(loaded.workspace.example.as_deref(), Some("array_sum"));
        assert_eq!(loaded.workspace.program.file_name(), "array_sum.bpf.o");
        let edited = loaded.reduce(Action::EditAssembly("exit\n".into()));
        assert_eq!(
            edited.workspace.example, None,
            "edited work is no longer the example"
        );
    }

    #[test]
    fn stale_engine_messages_are_dropped() {
        let busy = start().reduce(Action::Run);
        let old = task_of(&busy);
        let cancelled = busy.reduce(Action::Cancel);
        assert_eq!(cancelled.run, RunState::Idle);
        let late = Action::Engine {
            task: old.task,
            event: EngineEvent::Failed {
                error: Rc::new(AppError::Build("late".into())),
                live: None,
            },
        };
        assert!(Rc::ptr_eq(&cancelled, &cancelled.clone().reduce(late)));
    }

    #[test]
    fn edits_drop_the_run_and_change_the_program() {
        let s = perform(start().reduce(Action::Run));
        let edited = s.reduce(Action::EditAssembly("r0 = 0\nexit\n".into()));
        assert_eq!(edited.run, RunState::Idle);
        assert!(matches!(
            &edited.workspace.program,
            ProgramDoc::Asm { name, text } if name == "hash_dump.s" && text == "r0 = 0\nexit\n"
        ));
        let four = edited.reduce(Action::SetCpus(4));
        assert_eq!(four.workspace.ncpus, 4);
        let big_reads = four.reduce(Action::SetReadSize(64));
        assert_eq!(big_reads.workspace.scenario.reads[0].read_size, 64);
        let other = examples::EXAMPLES[1].name;
        let switched = select(big_reads, other);
        assert_eq!(switched.example_name(), Some(other));
        assert_eq!(switched.workspace.ncpus, 4, "the CPU choice stays");
    }

    #[test]
    fn bad_assembly_fails_with_its_line() {
        let s = start().reduce(Action::EditAssembly("r0 = 0\nr11 = 1\nexit\n".into()));
        let s = perform(s.reduce(Action::Verify));
        match s.error() {
            Some(AppError::Assemble { line, .. }) => assert_eq!(*line, 2),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn rejected_examples_stop_at_the_verifier() {
        let s = select(start(), "write_key_rejected");
        let s = perform(s.reduce(Action::Run));
        let live = s.live().expect("a verdict");
        let view = live.view();
        assert_eq!(view.load(), "rejected");
        assert_eq!(view.calls(), 0);
        assert!(live.is_finished());
    }

    #[test]
    fn traces_open_load_move_and_close() {
        let s = start().reduce(Action::OpenTrace(1));
        let req = s.trace_request().expect("a trace to produce");
        assert_eq!(req.call, 1);
        assert!(!req.no_verify);
        let trace = engine::trace(&req.workspace, req.call, req.no_verify).map(Rc::new);
        let steps = trace.as_ref().map(|t| t.steps.len()).unwrap_or_default();
        let s = s.reduce(Action::TraceLoaded {
            request: req.request,
            result: trace.map_err(|e| e.to_string()),
        });
        assert!(s.trace_request().is_none());
        let t = s.trace.clone().expect("open");
        assert!(matches!(t.status, TraceStatus::Ready(_)), "{:?}", t.status);
        assert!(steps > 3);
        let s = s.reduce(Action::MoveTrace(TraceMove::Forward));
        assert_eq!(s.trace.as_ref().map(|t| t.pos), Some(1));
        assert!(Rc::ptr_eq(
            &s,
            &s.clone().reduce(Action::MoveTrace(TraceMove::To(1)))
        ));
        let s = s.reduce(Action::MoveTrace(TraceMove::End));
        assert_eq!(s.trace.as_ref().map(|t| t.pos), Some(steps));
        let s = s.reduce(Action::MoveTrace(TraceMove::Back));
        assert_eq!(s.trace.as_ref().map(|t| t.pos), Some(steps - 1));
        let s = s.reduce(Action::ToggleBreakpoint(2));
        assert!(s.trace.as_ref().is_some_and(|t| t.breakpoints.contains(&2)));
        let s = s.reduce(Action::EditAssembly("r0 = 0\nexit\n".into()));
        assert!(s.trace.is_none(), "an edit closes the trace");
    }

    #[test]
    fn a_late_trace_for_an_older_request_is_dropped() {
        let s = start().reduce(Action::OpenTrace(1));
        let old = s.trace_request().map(|r| r.request).unwrap_or_default();
        let s = s.reduce(Action::OpenTrace(2));
        let late = Action::TraceLoaded {
            request: old,
            result: Err("late".into()),
        };
        assert!(Rc::ptr_eq(&s, &s.clone().reduce(late)));
    }

    #[test]
    fn restore_replaces_everything_with_a_notice() {
        let mut ws = Workspace::default_example();
        ws.ncpus = 8;
        let s = perform(start().reduce(Action::Run));
        let r = s.reduce(Action::Restore(Box::new(ws.clone()), "Restored".into()));
        assert_eq!(*r.workspace, ws);
        assert_eq!(r.run, RunState::Idle);
        assert_eq!(r.notice.as_ref().map(|n| n.text.as_str()), Some("Restored"));
    }
}
