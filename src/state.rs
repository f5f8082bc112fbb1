//! The playground's state: one [`PlaygroundState`], one [`Action`] enum, one pure reducer.
//!
//! The reducer never calls the emulator. [`Action::Run`] only records that a run was requested
//! (with a fresh run id); the effect in [`crate::hooks::use_run_emulator`] performs it and sends
//! the outcome back as [`Action::RunFinished`]. An outcome whose id is not the pending run's (the
//! user picked another example meanwhile) is dropped. An action that changes nothing returns the
//! very same `Rc`, so Yew skips the re-render.

use std::fmt;
use std::rc::Rc;

use iterscope_emulator::scenario::{Report, RunOptions};
use yew::{Reducible, UseReducerHandle};

use crate::examples::{self, Example};

/// The CPU counts the toolbar offers (the kernel oracle recorded with 2).
pub const CPU_CHOICES: [u32; 4] = [1, 2, 4, 8];

/// The result of one emulator run, typed until the view renders it.
///
/// Compared by identity: two outcomes are equal only if they are the same run's.
#[derive(Clone)]
pub struct RunOutcome(Rc<Result<Report, iterscope_emulator::Error>>);

impl RunOutcome {
    /// Wraps the emulator's answer.
    pub fn new(result: Result<Report, iterscope_emulator::Error>) -> Self {
        Self(Rc::new(result))
    }

    /// The report, or the error that stopped the run.
    pub fn result(&self) -> &Result<Report, iterscope_emulator::Error> {
        &self.0
    }
}

impl PartialEq for RunOutcome {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for RunOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.result() {
            Ok(report) => write!(f, "RunOutcome(Ok(load={}))", report.load),
            Err(e) => write!(f, "RunOutcome(Err({e}))"),
        }
    }
}

/// Where the current run stands.
#[derive(Debug, Clone, PartialEq)]
pub enum RunState {
    /// Nothing run yet for the selected example.
    Idle,
    /// A run was requested and its outcome has not arrived.
    Running {
        /// The id [`Action::RunFinished`] must carry to be accepted.
        run_id: u64,
    },
    /// The last run's outcome.
    Finished {
        /// The id of the run that produced `outcome`.
        run_id: u64,
        /// Report or error.
        outcome: RunOutcome,
    },
}

/// A run the effect has to perform: everything it needs, nothing it can change.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRequest {
    /// Echoed back in [`Action::RunFinished`].
    pub run_id: u64,
    /// The example to run.
    pub example: &'static Example,
    /// Emulator options (CPU count, call recording).
    pub ncpus: u32,
}

impl RunRequest {
    /// The emulator options for this run: calls are always recorded for the timeline.
    pub fn options(&self) -> RunOptions {
        RunOptions {
            ncpus: self.ncpus,
            record_calls: true,
            ..RunOptions::default()
        }
    }
}

/// Everything the page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaygroundState {
    /// The selected example.
    pub example: &'static Example,
    /// Emulated CPU count (per-CPU maps, `bpf_get_smp_processor_id`).
    pub ncpus: u32,
    /// The current run.
    pub run: RunState,
    /// The id the next run will get.
    next_run_id: u64,
}

impl Default for PlaygroundState {
    fn default() -> Self {
        Self {
            example: examples::default_example(),
            ncpus: RunOptions::default().ncpus,
            run: RunState::Idle,
            next_run_id: 1,
        }
    }
}

impl PlaygroundState {
    /// The run the effect should perform now, if one is pending.
    pub fn pending_run(&self) -> Option<RunRequest> {
        match self.run {
            RunState::Running { run_id } => Some(RunRequest {
                run_id,
                example: self.example,
                ncpus: self.ncpus,
            }),
            RunState::Idle | RunState::Finished { .. } => None,
        }
    }

    /// Whether a run is in flight.
    pub fn is_running(&self) -> bool {
        matches!(self.run, RunState::Running { .. })
    }

    /// The last finished run's outcome, if any.
    pub fn outcome(&self) -> Option<&RunOutcome> {
        match &self.run {
            RunState::Finished { outcome, .. } => Some(outcome),
            RunState::Idle | RunState::Running { .. } => None,
        }
    }
}

/// Everything that can happen to the page.
#[derive(Debug, Clone)]
pub enum Action {
    /// Pick the example with this name (unknown names are ignored).
    SelectExample(String),
    /// Set the emulated CPU count (values outside [`CPU_CHOICES`] are ignored).
    SetCpus(u32),
    /// Run the selected example (ignored while a run is in flight).
    Run,
    /// The emulator's answer for run `run_id`.
    RunFinished {
        /// The id from [`RunRequest::run_id`].
        run_id: u64,
        /// Report or error.
        outcome: RunOutcome,
    },
}

impl Reducible for PlaygroundState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        match action {
            Action::SelectExample(name) => match examples::find(&name) {
                Some(example) if example != self.example => Rc::new(Self {
                    example,
                    run: RunState::Idle,
                    ..(*self).clone()
                }),
                _ => self,
            },
            Action::SetCpus(ncpus) if ncpus != self.ncpus && CPU_CHOICES.contains(&ncpus) => {
                Rc::new(Self {
                    ncpus,
                    run: RunState::Idle,
                    ..(*self).clone()
                })
            }
            Action::SetCpus(_) => self,
            Action::Run if self.is_running() => self,
            Action::Run => Rc::new(Self {
                run: RunState::Running {
                    run_id: self.next_run_id,
                },
                next_run_id: self.next_run_id + 1,
                ..(*self).clone()
            }),
            Action::RunFinished { run_id, outcome } => match self.run {
                RunState::Running { run_id: pending } if pending == run_id => Rc::new(Self {
                    run: RunState::Finished { run_id, outcome },
                    ..(*self).clone()
                }),
                _ => self,
            },
        }
    }
}

/// The store every component reaches through context.
pub type StoreContext = UseReducerHandle<PlaygroundState>;

#[cfg(test)]
mod tests {
    use super::*;

    /// A real report: the first example run on the emulator.
    fn report() -> Report {
        let ex = examples::default_example();
        let sc = iterscope_emulator::scenario::Scenario::from_json(ex.scenario_json).unwrap();
        iterscope_emulator::scenario::run_scenario(&sc, ex.object, ex.name, &RunOptions::default())
            .unwrap()
    }

    fn start() -> Rc<PlaygroundState> {
        Rc::new(PlaygroundState::default())
    }

    fn other_example() -> &'static Example {
        examples::EXAMPLES
            .iter()
            .find(|e| e.name != examples::default_example().name)
            .expect("at least two examples")
    }

    #[test]
    fn default_selects_first_example_and_two_cpus() {
        let s = start();
        assert_eq!(s.example.name, examples::EXAMPLES[0].name);
        assert_eq!(s.ncpus, 2);
        assert_eq!(s.run, RunState::Idle);
        assert!(s.pending_run().is_none());
    }

    #[test]
    fn no_op_actions_return_the_same_rc() {
        let s = start();
        let same_example = Action::SelectExample(s.example.name.to_owned());
        assert!(Rc::ptr_eq(&s, &s.clone().reduce(same_example)));
        let unknown = Action::SelectExample("no_such_example".to_owned());
        assert!(Rc::ptr_eq(&s, &s.clone().reduce(unknown)));
        assert!(Rc::ptr_eq(&s, &s.clone().reduce(Action::SetCpus(2))));
        assert!(Rc::ptr_eq(&s, &s.clone().reduce(Action::SetCpus(0))));
        let stray = Action::RunFinished {
            run_id: 99,
            outcome: RunOutcome::new(Ok(report())),
        };
        assert!(Rc::ptr_eq(&s, &s.clone().reduce(stray)));

        let running = s.reduce(Action::Run);
        assert!(Rc::ptr_eq(&running, &running.clone().reduce(Action::Run)));
    }

    #[test]
    fn run_then_finish_shows_the_outcome() {
        let running = start().reduce(Action::Run);
        let request = running.pending_run().expect("a pending run");
        assert_eq!(request.example.name, examples::EXAMPLES[0].name);
        assert_eq!(request.options().ncpus, 2);
        assert!(request.options().record_calls);

        let outcome = RunOutcome::new(Ok(report()));
        let done = running.reduce(Action::RunFinished {
            run_id: request.run_id,
            outcome: outcome.clone(),
        });
        assert!(!done.is_running());
        assert!(done.pending_run().is_none());
        assert_eq!(done.outcome(), Some(&outcome));
        match done.outcome().map(RunOutcome::result) {
            Some(Ok(r)) => {
                assert!(r.output().ends_with(b"\n") && r.attach.as_deref() == Some("ok"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn each_run_gets_a_fresh_id() {
        let first = start().reduce(Action::Run);
        let id1 = first.pending_run().map(|r| r.run_id);
        let done = first.reduce(Action::RunFinished {
            run_id: id1.unwrap_or_default(),
            outcome: RunOutcome::new(Ok(report())),
        });
        let second = done.reduce(Action::Run);
        let id2 = second.pending_run().map(|r| r.run_id);
        assert_ne!(id1, id2);
    }

    #[test]
    fn selecting_another_example_drops_a_stale_outcome() {
        let running = start().reduce(Action::Run);
        let run_id = running.pending_run().map(|r| r.run_id).unwrap_or_default();
        let switched = running.reduce(Action::SelectExample(other_example().name.to_owned()));
        assert_eq!(switched.example.name, other_example().name);
        assert_eq!(switched.run, RunState::Idle);
        let late = Action::RunFinished {
            run_id,
            outcome: RunOutcome::new(Ok(report())),
        };
        assert!(Rc::ptr_eq(&switched, &switched.clone().reduce(late)));
    }

    #[test]
    fn changing_cpus_clears_the_old_outcome() {
        let running = start().reduce(Action::Run);
        let run_id = running.pending_run().map(|r| r.run_id).unwrap_or_default();
        let done = running.reduce(Action::RunFinished {
            run_id,
            outcome: RunOutcome::new(Ok(report())),
        });
        let four = done.reduce(Action::SetCpus(4));
        assert_eq!(four.ncpus, 4);
        assert_eq!(four.run, RunState::Idle);
        assert_eq!(
            four.reduce(Action::Run).pending_run().map(|r| r.ncpus),
            Some(4)
        );
    }

    #[test]
    fn an_error_outcome_stays_typed() {
        let running = start().reduce(Action::Run);
        let run_id = running.pending_run().map(|r| r.run_id).unwrap_or_default();
        let error = iterscope_emulator::scenario::Scenario::from_json("{ not json")
            .expect_err("invalid JSON is an error");
        let message = error.to_string();
        let done = running.reduce(Action::RunFinished {
            run_id,
            outcome: RunOutcome::new(Err(error)),
        });
        match done.outcome().map(RunOutcome::result) {
            Some(Err(e)) => assert_eq!(e.to_string(), message),
            other => panic!("unexpected {other:?}"),
        }
    }
}
