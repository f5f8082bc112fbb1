//! Iterscope's browser playground for Linux BPF map-element iterators (`SEC("iter/bpf_map_elem")`).
//!
//! The page runs the [`iterscope_emulator`] engine in the browser: pick an example, press Run,
//! read the bytes a `read()` on the iterator would return and the per-call timeline.
//!
//! - [`state`]: the whole page state, one [`state::Action`] enum and a pure reducer (native tests);
//! - [`hooks`]: the only place that calls the emulator ([`hooks::use_run_emulator`]);
//! - [`components`]: small prop-driven panels;
//! - [`examples`]: the example table compiled into the bundle;
//! - [`app`]: the root component that owns the store and provides it through context.
//!
//! Out of scope for now: editing programs or maps, stepping, the verifier log view.

pub mod app;
pub mod components;
pub mod examples;
pub mod hooks;
pub mod state;
pub mod workspace;

pub use app::App;
