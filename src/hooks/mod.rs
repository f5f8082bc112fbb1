//! Hooks and browser glue: the engine and trace effects (the only callers of
//! [`crate::engine`] that run programs), autosave and restore (localStorage, share links in the URL fragment) and
//! file transfer (upload, download).
//!
//! Everything here touches `web_sys`; the decisions stay in [`crate::state`] and
//! [`crate::workspace`], which are tested natively.

mod examples;
mod files;
mod persist;
mod run_engine;
mod trace;

pub use examples::use_examples;
pub use files::{download, read_file};
pub use persist::{initial_state, share_url, use_autosave};
pub use run_engine::use_engine;
pub use trace::use_trace;
