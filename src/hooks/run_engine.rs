//! The engine effect: performs the store's [`EngineTask`] in slices, yielding to the browser
//! between them so the page stays responsive on a million-element run.
//!
//! Each slice is sized to take about [`SLICE_MS`] milliseconds (measured, then adapted), and
//! a `setTimeout(0)` separates slices, so input and paint get their turn and Cancel works.
//! When the task changes (cancel, edit, a new run) the effect's cleanup raises a flag that
//! stops the loop before its next slice.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use yew::platform::{spawn_local, time::sleep};
use yew::prelude::*;

use crate::engine::Worker;
use crate::state::{Action, StoreContext};

/// Target duration of one slice of program calls.
const SLICE_MS: f64 = 25.0;

/// The first slice's call budget, before anything is measured.
const FIRST_SLICE_CALLS: u64 = 512;

/// The next budget: scaled toward [`SLICE_MS`], changing at most 4× per slice.
fn next_budget(calls: u64, elapsed_ms: f64) -> u64 {
    let factor = if elapsed_ms <= 0.5 {
        4.0
    } else {
        (SLICE_MS / elapsed_ms).clamp(0.25, 4.0)
    };
    ((calls as f64 * factor) as u64).clamp(16, 1 << 22)
}

/// Watches the store's engine task and performs it.
#[hook]
pub fn use_engine(store: &StoreContext) {
    let task = store.engine_task();
    let dispatcher = store.dispatcher();
    use_effect_with(task, move |task| {
        let cancelled = Rc::new(Cell::new(false));
        if let Some(task) = task.clone() {
            let flag = cancelled.clone();
            spawn_local(async move {
                // Let the busy state paint before the first (possibly long) slice.
                sleep(Duration::ZERO).await;
                let mut worker = Worker::new(task.clone());
                let mut budget = FIRST_SLICE_CALLS;
                while !worker.is_done() && !flag.get() {
                    let t0 = js_sys::Date::now();
                    let events = worker.slice(budget);
                    let elapsed = js_sys::Date::now() - t0;
                    for event in events {
                        dispatcher.dispatch(Action::Engine {
                            task: task.task,
                            event,
                        });
                    }
                    budget = next_budget(budget, elapsed);
                    if !worker.is_done() {
                        sleep(Duration::ZERO).await;
                    }
                }
            });
        }
        move || cancelled.set(true)
    });
}

#[cfg(test)]
mod tests {
    use super::next_budget;

    #[test]
    fn budgets_move_toward_the_slice_target_within_bounds() {
        assert_eq!(next_budget(1000, 0.0), 4000);
        assert_eq!(next_budget(1000, 25.0), 1000);
        assert_eq!(next_budget(1000, 50.0), 500);
        assert_eq!(next_budget(1000, 1000.0), 250);
        assert_eq!(next_budget(16, 1000.0), 16);
        assert_eq!(next_budget(1 << 22, 0.0), 1 << 22);
    }
}
