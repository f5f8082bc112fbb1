//! Performs the run the store asks for and reports its outcome back as an action.

use std::time::Duration;

use iterscope_emulator::scenario::{run_scenario, Report, Scenario};
use yew::platform::{spawn_local, time::sleep};
use yew::prelude::*;

use crate::state::{Action, RunOutcome, RunRequest, StoreContext};

/// Parses the example's scenario and runs it with the request's options.
///
/// This and nothing else talks to the emulator; errors stay typed for the view.
pub fn run_example(request: &RunRequest) -> Result<Report, iterscope_emulator::Error> {
    let example = request.example;
    let scenario = Scenario::from_json(example.scenario_json)?;
    run_scenario(
        &scenario,
        example.object,
        example.object_name,
        &request.options(),
    )
}

/// Watches the store for a pending run, performs it, and dispatches [`Action::RunFinished`].
///
/// The run starts on the next macrotask, so the "Running…" state is painted first (the emulator
/// itself is synchronous). A newer request supersedes an older one; the reducer drops outcomes
/// whose id is no longer pending.
#[hook]
pub fn use_run_emulator(store: &StoreContext) {
    let pending = store.pending_run();
    let dispatcher = store.dispatcher();
    use_effect_with(pending, move |pending| {
        if let Some(request) = pending.clone() {
            spawn_local(async move {
                sleep(Duration::ZERO).await;
                let outcome = RunOutcome::new(run_example(&request));
                dispatcher.dispatch(Action::RunFinished {
                    run_id: request.run_id,
                    outcome,
                });
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples::EXAMPLES;

    fn report(example: &'static crate::examples::Example) -> Report {
        let request = RunRequest {
            run_id: 1,
            example,
            ncpus: 2,
        };
        run_example(&request).unwrap_or_else(|e| panic!("{} failed: {e}", example.name))
    }

    #[test]
    fn every_example_that_attaches_runs_and_ends_with_the_null_call() {
        for example in EXAMPLES {
            let report = report(example);
            if report.load != "ok" || report.attach.as_deref() != Some("ok") {
                continue;
            }
            assert!(
                !report.output().is_empty(),
                "{} printed nothing",
                example.name
            );
            let last = report.calls.last().expect("calls are recorded");
            assert!(
                last.is_stop,
                "{}: the last call is the NULL call",
                example.name
            );
            assert!(last.key.is_none() && last.value_before.is_none());
        }
    }

    #[test]
    fn bad_examples_fail_where_linux_fails() {
        use crate::components::{mark_log, LogMark};
        for name in ["write_key_rejected", "missing_null_check"] {
            let example = crate::examples::find(name).expect("the example exists");
            let report = report(example);
            assert_eq!(report.load, "rejected", "{name}");
            assert_eq!(report.attach, None, "{name}: attach is not attempted");
            assert_eq!(report.load_error.as_deref(), Some("Permission denied"));
            assert!(report.calls.is_empty() && report.output().is_empty());
            let marks: Vec<LogMark> = mark_log(&report.verifier_log, &report.verifier_error)
                .into_iter()
                .map(|(_, m)| m)
                .filter(|m| *m != LogMark::Plain)
                .collect();
            assert_eq!(marks, [LogMark::FailingInsn, LogMark::Error], "{name}");
        }
        let example = crate::examples::find("key_read_past_size").expect("the example exists");
        let report = report(example);
        assert_eq!(report.load, "ok");
        assert_eq!(
            report.attach.as_deref(),
            Some("failed: Permission denied (EACCES)")
        );
        assert!(report.calls.is_empty());
    }
}
