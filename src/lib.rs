//! Iterscope's browser playground for Linux BPF map-element iterators (`SEC("iter/bpf_map_elem")`).
//!
//! The page runs the [`iterscope_emulator`] engine in the browser: write assembly or load a
//! clang `.o`, fill the map, verify, then step element by element or run to the end, reading
//! the bytes `read()` on the iterator returns and the per-call timeline.
//!
//! - [`state`]: the whole page state, one [`state::Action`] enum and a pure reducer (native tests);
//! - [`engine`]: the only module that calls the emulator (build, load, advance a live run);
//! - [`workspace`]: the user's work as a versioned document (autosave, share links, files);
//! - [`hooks`]: browser glue — the engine effect, autosave/restore, file transfer;
//! - [`components`]: small prop-driven panels;
//! - [`examples`]: the example table compiled into the bundle;
//! - [`app`]: the root component that owns the store and provides it through context.
//!
//! Out of scope: instruction-level stepping (a later tracer), socket-storage iterators.

pub mod app;
pub mod components;
pub mod engine;
pub mod examples;
pub mod hooks;
pub mod state;
pub mod stepper;
pub mod workspace;

pub use app::App;
