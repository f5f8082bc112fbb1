//! Custom hooks. [`use_run_emulator`] is the single place the app calls the emulator.

mod use_run_emulator;

pub use use_run_emulator::{run_example, use_run_emulator};
