//! The example effect: loads the files of the example the store asks for (fetched from
//! `examples/`, or compiled in) and reports them back as [`Action::ExampleLoaded`].

use yew::platform::spawn_local;
use yew::prelude::*;

use crate::examples;
use crate::state::{Action, StoreContext};

/// Watches the store's example request and fulfils it.
#[hook]
pub fn use_examples(store: &StoreContext) {
    let request = store.example_request();
    let dispatcher = store.dispatcher();
    use_effect_with(request, move |request| {
        if let Some(name) = request.clone() {
            spawn_local(async move {
                let result = examples::load(&name).await.map(Box::new);
                dispatcher.dispatch(Action::ExampleLoaded { name, result });
            });
        }
    });
}
