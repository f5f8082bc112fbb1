//! Hooks and browser glue: the engine effect (the only caller of [`crate::engine`] that
//! runs programs), autosave and restore (localStorage, share links in the URL fragment) and
//! file transfer (upload, download).
//!
//! Everything here touches `web_sys`; the decisions stay in [`crate::state`] and
//! [`crate::workspace`], which are tested natively.

mod files;
mod persist;
mod run_engine;

pub use files::{download, read_file};
pub use persist::{initial_state, share_url, use_autosave};
pub use run_engine::use_engine;
