//! The trace effect: produces the instruction trace the store asks for (replaying the
//! scenario up to the call on the next macrotask, so "Tracing…" paints first) and reports it
//! back as [`Action::TraceLoaded`].

use std::rc::Rc;
use std::time::Duration;

use yew::platform::{spawn_local, time::sleep};
use yew::prelude::*;

use crate::engine;
use crate::state::{Action, StoreContext};

/// Watches the store's trace request and fulfils it.
#[hook]
pub fn use_trace(store: &StoreContext) {
    let request = store.trace_request();
    let dispatcher = store.dispatcher();
    use_effect_with(request, move |request| {
        if let Some(r) = request.clone() {
            spawn_local(async move {
                sleep(Duration::ZERO).await;
                let result = engine::trace(&r.workspace, r.call, r.no_verify)
                    .map(Rc::new)
                    .map_err(|e| e.to_string());
                dispatcher.dispatch(Action::TraceLoaded {
                    request: r.request,
                    result,
                });
            });
        }
    });
}
