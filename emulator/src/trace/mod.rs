//! Instruction tracing: one program invocation stepped instruction by instruction, with
//! registers, memory accesses and helper calls, cross-checked against rbpf.
//!
//! rbpf has no step hook, no instruction budget and no atomics, so this module carries its own
//! interpreter ([`interp`]) over the same guest memory ([`crate::mem`]) and the same helper
//! implementations ([`crate::helpers::runtime::call`]) as the rbpf engine. [`trace_call`]
//! replays a scenario up to one call of its first read session, runs that call on the
//! tracing interpreter while a second, identical machine runs it on rbpf, and compares r0,
//! the bytes written, the helper calls and every byte of guest memory afterwards; a
//! difference is an engine disagreement ([`Trace::disagreement`]), which is a bug.
//!
//! The interpreter also runs what rbpf cannot: atomics (`lock *(u64 *)(r1 +0) += r2` and the
//! fetch variants) and cpu-v4 instructions ([`EngineKind::Tracer`]); the iterator driver uses
//! it for such programs, with an instruction budget. In teaching mode (`no_verify`) it runs
//! a program the verifier rejects — something Linux never does — and shows what the
//! verifier prevented.
//!
//! Not here: the iterator protocol (`iter`), verification (`verifier`), and any JIT or
//! performance work: the tracer is for single calls and for programs rbpf cannot execute.

mod check;
pub mod interp;

use serde::Serialize;

use crate::elf;
use crate::iter::{CallRecord, TraceRequest, TracedCall};
use crate::scenario::{prepare_with, RunOptions, Scenario, ScenarioError, SessionRun, Verdict};
use crate::Error;

/// Bounds of one traced call: executed instructions and recorded steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TraceLimits {
    /// Instructions executed before the run is stopped (default 1,000,000).
    pub max_insns: u64,
    /// Steps recorded before the trace is marked truncated (default 100,000).
    pub max_steps: usize,
}

impl Default for TraceLimits {
    fn default() -> Self {
        TraceLimits {
            max_insns: 1_000_000,
            max_steps: 100_000,
        }
    }
}

/// Which guest memory an access touched.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum RegionKind {
    /// The program's context (`struct bpf_iter__bpf_map_elem` and `bpf_iter_meta`).
    Ctx,
    /// The element's key (`ctx->key`).
    Key,
    /// The element's value (`ctx->value`).
    Value,
    /// The program's 512-byte stack.
    Stack,
    /// A global data section (`.bss`, `.data`, `.rodata`), by section name.
    Global(String),
    /// Storage of a map other than the element's key and value, by map name.
    Map(String),
    /// Anything else the program may point at (`struct bpf_map` models, the seq_file).
    Other,
}

/// One load or store of a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemAccess {
    /// A store (else a load).
    pub write: bool,
    /// The region.
    pub region: RegionKind,
    /// Guest address.
    pub addr: u64,
    /// Offset from the region's start (stack: from the bottom of the 512 bytes, so `fp-8` is 504).
    pub offset: u64,
    /// Bytes accessed (1, 2, 4 or 8).
    pub size: u8,
    /// Value loaded or stored (zero-extended).
    pub value: u64,
}

/// A helper call made by a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HelperStep {
    /// Kernel helper id.
    pub id: u32,
    /// Kernel name (`bpf_seq_printf`).
    pub name: String,
    /// r1..r5.
    pub args: [u64; 5],
    /// r0 returned.
    pub ret: u64,
}

/// One executed instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Instruction index in the program as the object numbers it (no prologue).
    pub pc: usize,
    /// The instruction, disassembled (maps and globals by name).
    pub insn: String,
    /// r0..r10 before the instruction.
    pub regs_before: [u64; 11],
    /// r0..r10 after the instruction.
    pub regs: [u64; 11],
    /// Loads and stores, in order.
    pub mem: Vec<MemAccess>,
    /// The helper call, on `call` instructions.
    pub helper: Option<HelperStep>,
    /// The C source line (`src @ file:N`) from BTF line info, when known.
    pub line: Option<String>,
}

/// Which engine ran a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineKind {
    /// rbpf (a traced call is cross-checked against it).
    Rbpf,
    /// The tracing interpreter alone: a program rbpf cannot run, or teaching mode.
    Tracer,
}

impl EngineKind {
    /// `rbpf` or `tracer`, as reports print it.
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Rbpf => "rbpf",
            EngineKind::Tracer => "tracer",
        }
    }
}

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The trace of one program invocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trace {
    /// Index of the invocation in the first read session (re-runs and the NULL call count).
    pub call: u64,
    /// `meta->seq_num` the program saw.
    pub seq_num: u64,
    /// The final call with NULL key and value.
    pub is_stop: bool,
    /// Executed instructions, at most [`TraceLimits::max_steps`].
    pub steps: Vec<Step>,
    /// More instructions ran than were recorded, or the budget stopped the run.
    pub truncated: bool,
    /// Instructions executed.
    pub insns_executed: u64,
    /// r0 at exit.
    pub ret: u64,
    /// rbpf (cross-checked) or the tracer alone.
    pub engine: EngineKind,
    /// `None` when rbpf and the tracer agree on r0, output, helpers and memory effects.
    pub disagreement: Option<String>,
    /// Per instruction: the verifier's register types at it (`rdonly_buf()`,
    /// `scalar(umax=255)`, `fp-8`); empty when not verified.
    pub verifier_regs: Vec<[Option<String>; 11]>,
    /// The 512-byte stack after the call.
    pub stack: Vec<u8>,
    /// Key bytes (None on the stop call).
    pub key: Option<Vec<u8>>,
    /// Value bytes before the call.
    pub value_before: Option<Vec<u8>>,
    /// Value bytes after the call.
    pub value_after: Option<Vec<u8>>,
    /// Bytes the call wrote to the seq_file.
    pub output: Vec<u8>,
    /// Teaching mode: the verifier rejected the program and Linux would never run it.
    pub unverified: bool,
    /// Why the run stopped early (a wild access, the instruction budget), if it did.
    pub error: Option<String>,
    /// The verifier's complaint, in teaching mode.
    pub verifier_error: Option<String>,
    /// Each global data section (`.bss`, `.data`, …) and its bytes before the call; the
    /// steps' writes to `RegionKind::Global(section)` replay on top of them.
    pub globals_before: Vec<(String, Vec<u8>)>,
}

/// Why a call cannot be traced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceError {
    /// The verifier rejected the program and teaching mode was not asked for.
    #[error("the verifier rejects the program ({message}); trace it with --no-verify to see what Linux prevents")]
    Rejected {
        /// The verifier's error line.
        message: String,
    },
    /// The program loaded but the iterator could not be attached.
    #[error("attach failed: {attach}")]
    NotAttached {
        /// The attach verdict.
        attach: String,
    },
    /// The session has fewer calls.
    #[error("call {call} does not exist: the first read session makes {calls} program calls")]
    NoSuchCall {
        /// Requested call.
        call: u64,
        /// Calls the session makes.
        calls: u64,
    },
    /// The scenario has no read session.
    #[error("the scenario has no read session")]
    NoSession,
}

/// Replays `sc` (as [`run_scenario`](crate::scenario::run_scenario) does) up to call `call`
/// of the first read session, traces that call on the tracing interpreter, and cross-checks
/// it against rbpf.
///
/// `call` is 0-based and counts every program invocation of the session: re-runs after an
/// overflow or a return of 1, and the final NULL call. With `no_verify` (teaching mode) a
/// program the verifier rejects, or that fails to attach, runs anyway — on the tracing
/// interpreter alone, within `limits` — and the trace says [`Trace::unverified`].
///
/// # Errors
///
/// [`TraceError`] when the program is rejected (without `no_verify`), the session has no
/// such call or the scenario no read; what [`run_scenario`](crate::scenario::run_scenario)
/// returns for a bad scenario or object; [`Error::Read`] when a call before `call` fails.
///
/// # Examples
///
/// ```no_run
/// use iterscope_emulator::scenario::{RunOptions, Scenario};
/// use iterscope_emulator::trace::{trace_call, TraceLimits};
/// let sc = Scenario::from_json(&std::fs::read_to_string("examples/hash_dump.json")?)?;
/// let obj = std::fs::read("examples/hash_dump.bpf.o")?;
/// let t = trace_call(&sc, &obj, "hash_dump", &RunOptions::default(), 0, &TraceLimits::default(), false)?;
/// assert_eq!(t.disagreement, None);
/// for s in &t.steps {
///     println!("{:4}: {}", s.pc, s.insn);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn trace_call(
    sc: &Scenario,
    object: &[u8],
    object_name: &str,
    opts: &RunOptions,
    call: u64,
    limits: &TraceLimits,
    no_verify: bool,
) -> Result<Trace, Error> {
    let mut traces = trace_calls(sc, object, object_name, opts, &[call], limits, no_verify)?;
    traces
        .pop()
        .ok_or(Error::Trace(TraceError::NoSuchCall { call, calls: 0 }))
}

/// [`trace_call`] for several calls of one replay: `calls` in any order (each traced once).
/// Cheaper than one [`trace_call`] per call, since the scenario is replayed once.
///
/// # Errors
///
/// As [`trace_call`]; a call after one whose run failed is [`TraceError::NoSuchCall`].
pub fn trace_calls(
    sc: &Scenario,
    object: &[u8],
    object_name: &str,
    opts: &RunOptions,
    calls: &[u64],
    limits: &TraceLimits,
    no_verify: bool,
) -> Result<Vec<Trace>, Error> {
    let mut calls = calls.to_vec();
    calls.sort_unstable();
    calls.dedup();
    // Both machines must be built alike: fix the hash seed a random one would differ in.
    let mut opts = opts.clone();
    opts.record_calls = false;
    opts.hash_seed = Some(opts.hash_seed.unwrap_or(0x1f2e_3d4c));
    let read_size = sc
        .reads
        .first()
        .ok_or(Error::Trace(TraceError::NoSession))?
        .read_size;
    let obj = elf::parse(object, object_name)?;
    let prog = obj
        .programs
        .iter()
        .find(|p| crate::scenario::is_iter_program(&p.kind))
        .ok_or(Error::Scenario(ScenarioError::NoProgram))?;
    let texts = Texts::new(prog, &obj);

    let traced = prepare_with(sc, object, object_name, &opts, no_verify)?;
    let (verifier_regs, verifier_error) = match &traced.verdict {
        Verdict::Loaded(v) => (v.insn_regs.clone(), None),
        Verdict::Rejected(r) if no_verify => (r.insn_regs.clone(), Some(r.error.message.clone())),
        Verdict::Rejected(r) => {
            return Err(Error::Trace(TraceError::Rejected {
                message: r.error.message.clone(),
            }))
        }
        Verdict::NotLoaded { map_create } => {
            return Err(Error::Trace(TraceError::NotAttached {
                attach: format!("not loaded: map create failed: {map_create}"),
            }))
        }
    };
    let attach = traced.attach.clone();
    let attached = attach.as_deref() == Some("ok");
    if !attached && !no_verify {
        return Err(Error::Trace(TraceError::NotAttached {
            attach: attach.unwrap_or_default(),
        }));
    }
    let unverified = verifier_error.is_some() || !attached;
    let verifier_error = verifier_error.or_else(|| {
        (!attached).then(|| format!("attach {}", attach.as_deref().unwrap_or("not attempted")))
    });
    let globals: Vec<String> = traced.globals.iter().map(|g| g.0.clone()).collect();
    let Some(mut mb) = traced.machine else {
        return Err(Error::Trace(TraceError::NoSession));
    };
    if unverified {
        mb.set_engine(EngineKind::Tracer);
    }
    // The reference machine runs every call on rbpf, when rbpf can run the program at all.
    let cross = mb.engine() == EngineKind::Rbpf;
    let mut ma = if cross {
        prepare_with(sc, object, object_name, &opts, false)?.machine
    } else {
        None
    };
    let engine = if ma.is_some() {
        EngineKind::Rbpf
    } else {
        EngineKind::Tracer
    };
    let mut rb = SessionRun::open(&mut mb, read_size)?;
    let mut ra = match ma.as_mut() {
        Some(m) => Some(SessionRun::open(m, read_size)?),
        None => None,
    };
    let mut out = Vec::with_capacity(calls.len());
    for call in calls {
        // Run both machines on rbpf up to the call.
        let skip = call.saturating_sub(rb.session.calls);
        let mut budget = skip;
        rb.advance(&mut mb, &mut budget, |_, _| {})?;
        if let (Some(m), Some(r)) = (ma.as_mut(), ra.as_mut()) {
            let mut budget = skip;
            r.advance(m, &mut budget, |_, _| {})?;
        }
        if rb.finished || rb.session.calls != call {
            return Err(Error::Trace(TraceError::NoSuchCall {
                call,
                calls: rb.session.calls,
            }));
        }
        let globals_before: Vec<(String, Vec<u8>)> =
            crate::scenario::global_snapshots(&mb, &traced.globals)
                .into_iter()
                .map(|g| (g.section, g.bytes))
                .collect();
        // The call itself: the tracer on one machine, rbpf on the other.
        mb.request_trace(TraceRequest {
            call,
            limits: *limits,
            globals: globals.clone(),
        });
        mb.record = true;
        let mut one = 1;
        let result_b = rb.advance(&mut mb, &mut one, |_, _| {});
        mb.record = false;
        let rec_b = mb.take_records().pop();
        let Some(tc) = mb.take_trace() else {
            return Err(Error::Trace(TraceError::NoSuchCall {
                call,
                calls: rb.session.calls,
            }));
        };
        let disagreement = match (ma.as_mut(), ra.as_mut()) {
            (Some(m), Some(r)) => {
                m.record = true;
                let mut one = 1;
                let result_a = r.advance(m, &mut one, |_, _| {});
                m.record = false;
                let rec_a = m.take_records().pop();
                check::compare(
                    check::Side {
                        machine: m,
                        result: &result_a,
                        record: rec_a.as_ref(),
                    },
                    check::Side {
                        machine: &mb,
                        result: &result_b,
                        record: rec_b.as_ref(),
                    },
                )
            }
            _ => None,
        };
        let failed = result_b.is_err();
        out.push(build(
            tc,
            rec_b,
            &texts,
            Meta {
                engine,
                disagreement,
                verifier_regs: &verifier_regs,
                verifier_error: verifier_error.clone(),
                unverified,
                globals_before,
            },
        ));
        if failed {
            break;
        }
    }
    Ok(out)
}

/// Per-instruction text and source line of the traced program.
struct Texts {
    insns: Vec<String>,
    lines: Vec<Option<String>>,
}

impl Texts {
    fn new(prog: &elf::Program, obj: &elf::Object) -> Texts {
        let n = prog.insn_count();
        let mut insns = vec![String::new(); n];
        for (k, _, text) in crate::asm::disasm_linked(prog, obj) {
            if let Some(slot) = insns.get_mut(k) {
                *slot = text;
            }
        }
        let mut lines = vec![None; n];
        let mut cur: Option<String> = None;
        let mut next = prog.line_info.iter().peekable();
        for (pc, slot) in lines.iter_mut().enumerate() {
            while let Some(l) = next.next_if(|l| l.insn <= pc) {
                let file = l.file.rsplit('/').next().unwrap_or(&l.file);
                cur = Some(format!("{} @ {file}:{}", l.source.trim(), l.line));
            }
            slot.clone_from(&cur);
        }
        Texts { insns, lines }
    }
}

/// What a [`Trace`] says besides the steps.
struct Meta<'a> {
    engine: EngineKind,
    disagreement: Option<String>,
    verifier_regs: &'a [[Option<String>; 11]],
    verifier_error: Option<String>,
    unverified: bool,
    globals_before: Vec<(String, Vec<u8>)>,
}

fn build(tc: TracedCall, rec: Option<CallRecord>, texts: &Texts, meta: Meta<'_>) -> Trace {
    let mut steps = tc.steps;
    for s in &mut steps {
        if let Some(t) = texts.insns.get(s.pc) {
            s.insn.clone_from(t);
        }
        s.line = texts.lines.get(s.pc).cloned().flatten();
    }
    let (key, value_before, value_after, output) = match rec {
        Some(r) => (r.key, r.value_before, r.value_after, r.output),
        None => (None, None, None, Vec::new()),
    };
    Trace {
        call: tc.call,
        seq_num: tc.seq_num,
        is_stop: tc.is_stop,
        steps,
        truncated: tc.truncated,
        insns_executed: tc.insns,
        ret: tc.result.as_ref().copied().unwrap_or(0),
        engine: meta.engine,
        disagreement: meta.disagreement,
        verifier_regs: meta.verifier_regs.to_vec(),
        stack: tc.stack,
        key,
        value_before,
        value_after,
        output,
        unverified: meta.unverified,
        error: tc.result.err().map(|e| e.to_string()),
        verifier_error: meta.verifier_error,
        globals_before: meta.globals_before,
    }
}
