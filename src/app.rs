//! The root component: owns the store, provides it through context, wires the run effect.

use yew::prelude::*;

use crate::components::{ExamplePicker, Output, ScenarioView, Timeline, Toolbar};
use crate::examples::EXAMPLES;
use crate::hooks::use_run_emulator;
use crate::state::{Action, PlaygroundState, StoreContext};

/// The whole page.
#[function_component(App)]
pub fn app() -> Html {
    let store = use_reducer(PlaygroundState::default);
    use_run_emulator(&store);
    html! {
        <ContextProvider<StoreContext> context={store}>
            <Playground />
        </ContextProvider<StoreContext>>
    }
}

/// The page's layout; reads the store from context and hands plain props to the panels.
#[function_component(Playground)]
fn playground() -> Html {
    let Some(store) = use_context::<StoreContext>() else {
        return html! { <p role="alert">{ "Iterscope: missing store" }</p> };
    };
    let on_select = {
        let store = store.clone();
        Callback::from(move |name: String| store.dispatch(Action::SelectExample(name)))
    };
    let on_cpus = {
        let store = store.clone();
        Callback::from(move |n: u32| store.dispatch(Action::SetCpus(n)))
    };
    let on_run = {
        let store = store.clone();
        Callback::from(move |()| store.dispatch(Action::Run))
    };
    let outcome = store.outcome().cloned();

    html! {
        <div class="app">
            <header class="app-header">
                <h1>{ "Iterscope" }</h1>
                <p class="app-tagline">
                    { "Linux BPF map-element iterators (" }<code>{ "iter/bpf_map_elem" }</code>
                    { "), emulated in your browser." }
                </p>
            </header>
            <main class="app-main">
                <section class="panel panel-input" aria-labelledby="input-heading">
                    <h2 id="input-heading">{ "Scenario" }</h2>
                    <ExamplePicker
                        examples={EXAMPLES}
                        selected={store.example.name}
                        {on_select}
                    />
                    <Toolbar
                        running={store.is_running()}
                        ncpus={store.ncpus}
                        {on_cpus}
                        {on_run}
                    />
                    <ScenarioView example={store.example} />
                </section>
                <section class="panel panel-result" aria-labelledby="result-heading">
                    <h2 id="result-heading">{ "Result" }</h2>
                    <Output running={store.is_running()} outcome={outcome.clone()} />
                    <Timeline {outcome} />
                </section>
            </main>
        </div>
    }
}
