//! The instruction stepper: one call's trace, instruction by instruction, forward and back,
//! with the registers (and the verifier's type of each), the helper call, the stack slots
//! written so far and the key and value bytes with the last access highlighted.
//!
//! Keys (shown in the panel): `n` / → / F10 next instruction, `b` / ← previous, `c` / F8
//! continue to a breakpoint, `h` next helper call, Home / End. A click on an instruction's
//! dot sets a breakpoint there; a click on the instruction jumps to it.
//!
//! Not here: producing the trace ([`crate::engine::trace`]), the position arithmetic
//! ([`crate::stepper`]).

use iterscope_emulator::trace::{EngineKind, RegionKind, Trace};
use yew::prelude::*;

use crate::state::{TraceMove, TraceState, TraceStatus};
use crate::stepper;

/// Steps shown before and after the current one.
const CONTEXT_STEPS: usize = 8;

/// Props of [`TracePanel`].
#[derive(Debug, Properties, PartialEq)]
pub struct TracePanelProps {
    /// The open trace.
    pub state: TraceState,
    /// Moves the position.
    pub on_move: Callback<TraceMove>,
    /// Sets or clears a breakpoint at an instruction index.
    pub on_toggle_breakpoint: Callback<usize>,
    /// Closes the panel.
    pub on_close: Callback<()>,
}

/// The move a key press asks for, if any.
pub fn key_move(key: &str) -> Option<TraceMove> {
    Some(match key {
        "n" | "ArrowRight" | "F10" => TraceMove::Forward,
        "b" | "ArrowLeft" => TraceMove::Back,
        "c" | "F8" => TraceMove::Continue,
        "h" => TraceMove::NextHelper,
        "Home" => TraceMove::Start,
        "End" => TraceMove::End,
        _ => return None,
    })
}

fn region_name(r: &RegionKind) -> String {
    match r {
        RegionKind::Ctx => "ctx".into(),
        RegionKind::Key => "key".into(),
        RegionKind::Value => "value".into(),
        RegionKind::Stack => "stack".into(),
        RegionKind::Global(s) => s.clone(),
        RegionKind::Map(m) => format!("map {m}"),
        RegionKind::Other => "other".into(),
    }
}

/// Bytes as hex pairs, the ones in `[lo, hi)` marked.
fn bytes_view(bytes: &[u8], mark: Option<(usize, usize)>) -> Html {
    html! {
        <code class="trace-bytes">
            { for bytes.iter().enumerate().map(|(i, b)| {
                let marked = mark.is_some_and(|(lo, hi)| (lo..hi).contains(&i));
                html! { <span class={classes!(marked.then_some("is-accessed"))}>{ format!("{b:02x}") }</span> }
            }) }
        </code>
    }
}

fn registers(trace: &Trace, pos: usize) -> Html {
    let regs = stepper::regs_at(trace, pos).unwrap_or([0; 11]);
    let prev = pos.checked_sub(1).and_then(|p| stepper::regs_at(trace, p));
    let pc = stepper::pc_at(trace, pos).unwrap_or(0);
    html! {
        <table class="trace-regs" aria-label="Registers">
            <thead><tr>
                <th scope="col">{ "reg" }</th><th scope="col">{ "hex" }</th>
                <th scope="col">{ "decimal" }</th><th scope="col">{ "verifier type" }</th>
            </tr></thead>
            <tbody>
                { for regs.iter().enumerate().map(|(r, &v)| {
                    let changed = prev.is_some_and(|p| p[r] != v);
                    html! {
                        <tr data-testid={format!("register-r{r}")} data-value={v.to_string()}
                            class={classes!(changed.then_some("is-changed"))}>
                            <th scope="row">{ format!("r{r}") }</th>
                            <td><code>{ format!("{v:#x}") }</code></td>
                            <td><code>{ if (v as i64) < 0 { format!("{} ({})", v, v as i64) } else { v.to_string() } }</code></td>
                            <td><code>{ stepper::verifier_type(trace, pc, r).unwrap_or("") }</code></td>
                        </tr>
                    }
                }) }
            </tbody>
        </table>
    }
}

fn memory(trace: &Trace, pos: usize) -> Html {
    let last = stepper::last_step(trace, pos);
    let mark = |region: &RegionKind| {
        last.and_then(|s| s.mem.iter().find(|m| &m.region == region))
            .map(|m| (m.offset as usize, m.offset as usize + usize::from(m.size)))
    };
    let stack = stepper::stack_at(trace, pos);
    html! {
        <div class="trace-memory">
            if let Some(s) = last {
                if !s.mem.is_empty() {
                    <ul class="trace-accesses" data-testid="trace-accesses">
                        { for s.mem.iter().map(|m| html! {
                            <li>{ format!(
                                "{} {} +{} ({} bytes) {} {:#x}",
                                if m.write { "write" } else { "read" },
                                region_name(&m.region), m.offset, m.size,
                                if m.write { "←" } else { "→" }, m.value
                            ) }</li>
                        }) }
                    </ul>
                }
                if let Some(h) = &s.helper {
                    <p class="trace-helper" data-testid="trace-helper"><code>{ format!(
                        "{}({:#x}, {:#x}, {:#x}, {:#x}, {:#x}) = {}",
                        h.name, h.args[0], h.args[1], h.args[2], h.args[3], h.args[4], h.ret as i64
                    ) }</code></p>
                }
            }
            <dl>
                <dt>{ "key" }</dt>
                <dd>{ match stepper::key_at(trace, pos) {
                    Some(k) => bytes_view(&k, mark(&RegionKind::Key)),
                    None => html! { <code>{ "NULL" }</code> },
                } }</dd>
                <dt>{ "value" }</dt>
                <dd>{ match stepper::value_at(trace, pos) {
                    Some(v) => bytes_view(&v, mark(&RegionKind::Value)),
                    None => html! { <code>{ "NULL" }</code> },
                } }</dd>
                { for stepper::globals_at(trace, pos).into_iter().filter(|(_, b)| b.len() <= 256).map(|(section, bytes)| {
                    let region = RegionKind::Global(section.clone());
                    html! {
                        <>
                            <dt>{ section }</dt>
                            <dd>{ bytes_view(&bytes, mark(&region)) }</dd>
                        </>
                    }
                }) }
            </dl>
            if !stack.is_empty() {
                <table class="trace-stack" aria-label="Stack slots written">
                    <thead><tr><th scope="col">{ "slot" }</th><th scope="col">{ "size" }</th><th scope="col">{ "value" }</th></tr></thead>
                    <tbody>
                        { for stack.iter().map(|(off, size, v)| html! {
                            <tr><td><code>{ format!("fp{off}") }</code></td><td>{ size }</td>
                                <td><code>{ format!("{v:#x}") }</code></td></tr>
                        }) }
                    </tbody>
                </table>
            }
        </div>
    }
}

fn listing(t: &TraceState, trace: &Trace, props: &TracePanelProps) -> Html {
    let n = trace.steps.len();
    let lo = t.pos.saturating_sub(CONTEXT_STEPS);
    let hi = (t.pos + CONTEXT_STEPS + 1).min(n);
    html! {
        <ol class="trace-steps" aria-label="Executed instructions">
            { for (lo..hi).map(|i| {
                let s = &trace.steps[i];
                let pc = s.pc;
                let bp = t.breakpoints.contains(&pc);
                let on_bp = props.on_toggle_breakpoint.reform(move |_: MouseEvent| pc);
                let on_jump = props.on_move.reform(move |_: MouseEvent| TraceMove::To(i));
                html! {
                    <li class={classes!((i == t.pos).then_some("is-current"), (i < t.pos).then_some("is-done"))}
                        aria-current={(i == t.pos).then_some("step")}>
                        <button type="button" class={classes!("bp-toggle", bp.then_some("is-set"))}
                            data-testid="bp-toggle" aria-pressed={bp.to_string()}
                            aria-label={format!("Breakpoint at instruction {pc}")} onclick={on_bp}>{ "●" }</button>
                        <button type="button" class="trace-insn" onclick={on_jump}>
                            <span class="trace-pc-num">{ format!("{pc:>4}:") }</span>
                            <code>{ s.insn.clone() }</code>
                        </button>
                    </li>
                }
            }) }
            if t.pos == n {
                <li class="is-current" aria-current="step">
                    <span class="trace-end">{ if trace.truncated { "… trace truncated" } else { "exit" } }</span>
                </li>
            }
        </ol>
    }
}

/// The panel.
#[function_component(TracePanel)]
pub fn trace_panel(props: &TracePanelProps) -> Html {
    let t = &props.state;
    let on_close = props.on_close.reform(|_: MouseEvent| ());
    let header = html! {
        <div class="trace-header">
            <h3 id="trace-heading">{ format!("Instructions of call {}", t.call) }</h3>
            <button type="button" data-testid="trace-close" aria-label="Close the trace" onclick={on_close}>{ "×" }</button>
        </div>
    };
    let trace = match &t.status {
        TraceStatus::Loading => {
            return html! {
                <section class="trace-view" data-testid="trace-view" aria-labelledby="trace-heading">
                    { header }<p class="output-hint" role="status">{ "Tracing…" }</p>
                </section>
            }
        }
        TraceStatus::Failed(e) => {
            return html! {
                <section class="trace-view" data-testid="trace-view" aria-labelledby="trace-heading">
                    { header }<p class="run-error" role="alert" data-testid="trace-error">{ e.clone() }</p>
                </section>
            }
        }
        TraceStatus::Ready(trace) => trace.clone(),
    };
    let n = trace.steps.len();
    let onkeydown = {
        let on_move = props.on_move.clone();
        Callback::from(move |e: KeyboardEvent| {
            if let Some(m) = key_move(&e.key()) {
                e.prevent_default();
                on_move.emit(m);
            }
        })
    };
    let mv = |m: TraceMove| props.on_move.reform(move |_: MouseEvent| m);
    let pc = stepper::pc_at(&trace, t.pos);
    let line = trace
        .steps
        .get(t.pos)
        .or_else(|| trace.steps.last())
        .and_then(|s| s.line.clone());
    html! {
        <section class="trace-view" data-testid="trace-view" aria-labelledby="trace-heading"
            tabindex="0" {onkeydown}>
            { header }
            <p class="trace-engine" data-testid="trace-engine">
                { match trace.engine {
                    EngineKind::Rbpf => "Run by rbpf; traced by the tracing interpreter and cross-checked.",
                    EngineKind::Tracer => "Run by the tracing interpreter (rbpf cannot run this program).",
                } }
                { format!(" seq_num {}, {} instructions, r0 = {}.", trace.seq_num, trace.insns_executed, trace.ret) }
            </p>
            if let Some(d) = &trace.disagreement {
                <p class="run-error" role="alert" data-testid="engine-disagreement">
                    { format!("Engine disagreement (a bug in Iterscope): {d}") }
                </p>
            }
            if trace.unverified {
                <p class="trace-unverified" role="alert" data-testid="trace-unverified">
                    { "Teaching mode: Linux rejects this program" }
                    { trace.verifier_error.as_ref().map(|e| format!(" ({e})")).unwrap_or_default() }
                    { " and never runs it. This is what the verifier prevents." }
                </p>
            }
            if let Some(e) = &trace.error {
                <p class="run-error" role="alert">{ e.clone() }</p>
            }
            <div class="trace-controls" role="toolbar" aria-label="Trace controls">
                <button type="button" data-testid="trace-start" disabled={t.pos == 0}
                    title="Home" onclick={mv(TraceMove::Start)}>{ "⏮ Start" }</button>
                <button type="button" data-testid="step-back" disabled={t.pos == 0}
                    title="b or ←" onclick={mv(TraceMove::Back)}>{ "◀ Back" }</button>
                <button type="button" data-testid="step-forward" disabled={t.pos >= n}
                    title="n, → or F10" onclick={mv(TraceMove::Forward)}>{ "Forward ▶" }</button>
                <button type="button" data-testid="trace-continue" disabled={t.pos >= n}
                    title="c or F8" onclick={mv(TraceMove::Continue)}>{ "Continue ⏭" }</button>
                <button type="button" data-testid="trace-next-helper" disabled={t.pos >= n}
                    title="h" onclick={mv(TraceMove::NextHelper)}>{ "Next helper call" }</button>
                <button type="button" data-testid="trace-end" disabled={t.pos >= n}
                    title="End" onclick={mv(TraceMove::End)}>{ "End" }</button>
                <span class="trace-position">
                    { format!("step {}/{} · pc ", t.pos, n) }
                    <code data-testid="trace-pc">{ pc.map(|p| p.to_string()).unwrap_or_default() }</code>
                </span>
            </div>
            <p class="trace-keys">{ "Keys: n / → / F10 forward · b / ← back · c / F8 continue to a breakpoint · h next helper call · Home / End. Click ● to set a breakpoint." }</p>
            if let Some(line) = line { <p class="trace-source"><code>{ line }</code></p> }
            <div class="trace-grid">
                { listing(t, &trace, props) }
                { registers(&trace, t.pos) }
            </div>
            { memory(&trace, t.pos) }
            if t.pos == n && !trace.output.is_empty() {
                <p class="trace-output">{ "Output of the call: " }<code>{ String::from_utf8_lossy(&trace.output).into_owned() }</code></p>
            }
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::key_move;
    use crate::state::TraceMove;

    #[test]
    fn keys_map_to_moves() {
        assert_eq!(key_move("n"), Some(TraceMove::Forward));
        assert_eq!(key_move("F10"), Some(TraceMove::Forward));
        assert_eq!(key_move("ArrowLeft"), Some(TraceMove::Back));
        assert_eq!(key_move("F8"), Some(TraceMove::Continue));
        assert_eq!(key_move("h"), Some(TraceMove::NextHelper));
        assert_eq!(key_move("x"), None);
    }
}
