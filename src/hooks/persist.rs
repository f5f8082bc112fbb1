//! Autosave and restore: the workspace goes to localStorage after every change, and comes
//! back from a share link (`#w=…`, which wins) or from storage when the page loads.
//!
//! A saved document this page cannot read (another format version, damaged) is copied to
//! [`UNREADABLE_KEY`] before anything overwrites it, and the user is told: nothing typed is
//! ever silently lost. After a share link is restored, the fragment is removed from the
//! address bar so a reload shows the user's later edits, not the link again.

use yew::prelude::*;

use crate::examples;
use crate::state::{Action, Notice, PlaygroundState, StoreContext};
use crate::workspace::{self, Workspace, SHARE_PREFIX, STORAGE_KEY};

/// Where an unreadable saved workspace is kept.
pub const UNREADABLE_KEY: &str = "iterscope.workspace.unreadable";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn notice(is_error: bool, text: impl Into<String>) -> Option<Notice> {
    Some(Notice {
        is_error,
        text: text.into(),
    })
}

/// The page's first state: the shared workspace in the URL, else the autosaved one, else
/// the first example.
pub fn initial_state() -> PlaygroundState {
    let window = web_sys::window();
    let hash = window
        .as_ref()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    if let Some(code) = hash
        .strip_prefix('#')
        .and_then(|h| h.strip_prefix(SHARE_PREFIX))
    {
        let restored = workspace::from_share_code(code);
        if let Some(history) = window.as_ref().and_then(|w| w.history().ok()) {
            let path = window
                .as_ref()
                .and_then(|w| w.location().pathname().ok())
                .unwrap_or_default();
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&path));
        }
        match restored {
            Ok(ws) => {
                return PlaygroundState::with_workspace(
                    ws,
                    notice(false, "Opened the shared program and map."),
                )
            }
            Err(e) => {
                let mut s = from_storage();
                s.notice = notice(true, format!("The share link could not be opened: {e}"));
                return s;
            }
        }
    }
    from_storage()
}

/// A first visit: the default example, loading.
fn first_visit() -> PlaygroundState {
    PlaygroundState::loading(examples::default_example().name)
}

fn from_storage() -> PlaygroundState {
    let Some(store) = storage() else {
        return first_visit();
    };
    match store.get_item(STORAGE_KEY) {
        Ok(Some(text)) => match Workspace::from_json(&text) {
            Ok(ws) => PlaygroundState::with_workspace(ws, None),
            Err(e) => {
                let _ = store.set_item(UNREADABLE_KEY, &text);
                let mut s = first_visit();
                s.notice = notice(
                    true,
                    format!(
                        "Your saved work could not be read ({e}); it is kept in \
                         localStorage under \"{UNREADABLE_KEY}\"."
                    ),
                );
                s
            }
        },
        _ => first_visit(),
    }
}

/// Saves the workspace whenever it changes (not while the page waits for an example, whose
/// placeholder must not overwrite the saved work).
#[hook]
pub fn use_autosave(store: &StoreContext) {
    let ws = store.workspace.clone();
    let loading = store.loading_example.is_some();
    let dispatcher = store.dispatcher();
    use_effect_with((ws, loading), move |(ws, loading)| {
        if *loading {
            return;
        }
        if let Some(s) = storage() {
            if let Err(e) = s.set_item(STORAGE_KEY, &ws.to_json()) {
                dispatcher.dispatch(Action::Notify {
                    is_error: true,
                    text: format!(
                        "Autosave failed ({}); export the scenario to keep your work.",
                        e.as_string().unwrap_or_else(|| "storage is full".into())
                    ),
                });
            }
        }
    });
}

/// A link to this page that opens `ws`.
pub fn share_url(ws: &Workspace) -> String {
    let base = web_sys::window()
        .and_then(|w| {
            let l = w.location();
            Some(format!("{}{}", l.origin().ok()?, l.pathname().ok()?))
        })
        .unwrap_or_default();
    format!("{base}#{SHARE_PREFIX}{}", workspace::share_code(ws))
}
