//! The iterator driver: Linux's `bpf_seq_read` protocol over an emulated map.
//!
//! A [`Machine`] holds one loaded program ([`Code`]) and its [`World`] (maps, models, seq
//! buffer). Each [`Session`] is one open of the iterator file: it starts at `seq_num` 0 with
//! a fresh `session_id` and keeps its cursor, pending bytes and `done_stop` between reads.
//! [`Machine::read`] is one `read(2)` of a caller-chosen size and follows the kernel's
//! algorithm step by step: pending bytes first; otherwise refill the 32 KiB buffer element by
//! element until the requested size is buffered, an element overflows (its output dropped and
//! the element re-run on the next read — side effects repeat, as on Linux) or the map ends,
//! in which case the program runs once more with NULL key and value and the last element's
//! `seq_num`. A program return of 1 means "retry this element" (`EAGAIN` when it is first in
//! the read). Each read is bounded (32 KiB of output, at most `MAX_ITER_OBJECTS` elements), so
//! a caller that wants progress and cancellation drives reads one at a time.
//!
//! Each call runs on rbpf, or on the tracing interpreter ([`crate::trace::interp`], with an
//! instruction budget of [`TRACER_CALL_BUDGET`]) when the program needs it
//! ([`Code::needs_tracer`]) or the machine is told to ([`Machine::set_engine`], teaching
//! mode). One call can be asked to be traced step by step ([`Machine::request_trace`]).
//!
//! Optionally every program invocation is recorded as a [`CallRecord`] (key, value before and
//! after, bytes written, helper calls, return value); leave it off for million-element runs.
//!
//! Not here: parsing objects, creating maps from a scenario (see `scenario`), verification.

use crate::errno::Errno;
use crate::helpers::runtime::{HelperCall, HelperFault, World};
use crate::maps::{IterCursor, IterElem};
use crate::mem::{Region, RBPF_STACK_SIZE};
use crate::trace::interp::{self, Classifier, Guest, Recorder};
use crate::trace::{EngineKind, Step, TraceLimits};
use crate::vm::{Code, RunError, Vm};

/// Instructions one call may execute on the tracing interpreter outside a trace request
/// (a verified program never comes near it: the verifier's own limit is 1,000,000
/// processed instructions).
pub const TRACER_CALL_BUDGET: u64 = 16_000_000;

/// A call to trace step by step ([`Machine::request_trace`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceRequest {
    /// Index of the call in its session.
    pub call: u64,
    /// Instruction budget and step cap.
    pub limits: TraceLimits,
    /// Section names of the global data maps (the world's last maps), for region names.
    pub globals: Vec<String>,
}

/// What the tracing interpreter recorded for a requested call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracedCall {
    /// Index of the call in its session.
    pub call: u64,
    /// Its seq_num.
    pub seq_num: u64,
    /// The stop call.
    pub is_stop: bool,
    /// The steps (`insn` and `line` not filled in).
    pub steps: Vec<Step>,
    /// Steps were dropped at the cap.
    pub truncated: bool,
    /// Instructions executed.
    pub insns: u64,
    /// r0 or the error that stopped the run.
    pub result: Result<u64, RunError>,
    /// The stack after the call.
    pub stack: Vec<u8>,
}

/// Objects one read may visit before it stops (`MAX_ITER_OBJECTS`).
pub const MAX_ITER_OBJECTS: u64 = 1_000_000;

/// Context layout: `bpf_iter__bpf_map_elem` at 0, `bpf_iter_meta` at 32.
const CTX_SIZE: usize = 64;
const META_OFF: usize = 32;

/// Why a read failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// What `read(2)` returns on Linux (E2BIG, EAGAIN).
    #[error("read failed: {0}")]
    Errno(Errno),
    /// Something Linux never does: the engine stopped the program.
    #[error("program run {call} (seq_num {seq_num}) failed: {source}")]
    Run {
        /// Index of the invocation in the session.
        call: u64,
        /// Its seq_num.
        seq_num: u64,
        /// The engine's error.
        #[source]
        source: RunError,
    },
}

/// One program invocation, as the timeline shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// `meta->seq_num` the program saw.
    pub seq_num: u64,
    /// The final call with NULL key and value.
    pub is_stop: bool,
    /// A repeat of an element after an overflow or a return of 1.
    pub rerun: bool,
    /// Index of the read(2) in the session during which it ran.
    pub read: u32,
    /// Key bytes (None on the stop call). For an sk_storage map, whose elements are keyed
    /// by socket, the socket's emulated fd as a 4-byte little-endian `int` (socket `i` is fd
    /// `3 + i`, the key `BPF_MAP_LOOKUP_ELEM` takes), not the bytes `ctx->sk` points at.
    pub key: Option<Vec<u8>>,
    /// Value bytes before the call.
    pub value_before: Option<Vec<u8>>,
    /// Value bytes after the call.
    pub value_after: Option<Vec<u8>>,
    /// Bytes the call added to the seq buffer (before any discard).
    pub output: Vec<u8>,
    /// Whether its output was discarded (overflow or retry).
    pub discarded: bool,
    /// r0.
    pub ret: u64,
    /// Helper calls in order.
    pub helpers: Vec<HelperCall>,
    /// A helper fault the verifier would have prevented.
    pub fault: Option<HelperFault>,
}

/// One open of the iterator file.
#[derive(Debug, Default, Clone)]
pub struct Session {
    /// `meta->session_id`.
    pub session_id: u64,
    /// The current `seq_num`.
    pub seq_num: u64,
    cursor: IterCursor,
    done_stop: bool,
    pending_from: usize,
    pending: usize,
    /// Successful read(2) calls so far (including a final 0-byte one).
    pub read_calls: u32,
    /// read(2) calls attempted.
    pub reads: u32,
    /// Program invocations so far.
    pub calls: u64,
    /// Whether EOF was returned.
    pub eof: bool,
    last_shown: Option<u64>,
    inflight: Option<InFlight>,
}

/// A loaded program with its maps, ready to open sessions.
#[derive(Debug)]
pub struct Machine {
    code: Code,
    world: Option<Box<World>>,
    ctx: Region,
    next_session_id: u64,
    /// Record each call (off for large runs).
    pub record: bool,
    /// Calls recorded since the last [`Machine::take_records`].
    records: Vec<CallRecord>,
    regions: Vec<std::ops::Range<u64>>,
    engine: EngineKind,
    stack: Region,
    trace: Option<TraceRequest>,
    traced: Option<TracedCall>,
}

impl Machine {
    /// A machine running `code` over `world` (map 0 is the iterated map).
    pub fn new(code: Code, world: World) -> Machine {
        let mut ctx = Region::new(CTX_SIZE);
        let regions = world.regions();
        let meta = ctx.addr() + META_OFF as u64;
        let bytes = ctx.bytes_mut();
        bytes[0..8].copy_from_slice(&meta.to_le_bytes());
        bytes[8..16].copy_from_slice(&world.model_addr(0).to_le_bytes());
        bytes[META_OFF..META_OFF + 8].copy_from_slice(&world.seq_file.addr().to_le_bytes());
        let engine = if code.needs_tracer() {
            EngineKind::Tracer
        } else {
            EngineKind::Rbpf
        };
        Machine {
            code,
            world: Some(Box::new(world)),
            ctx,
            next_session_id: 1,
            record: false,
            records: Vec::new(),
            regions,
            engine,
            stack: Region::new(RBPF_STACK_SIZE),
            trace: None,
            traced: None,
        }
    }

    /// The engine that runs calls: rbpf, or the tracing interpreter for a program rbpf
    /// cannot run (or when told so).
    pub fn engine(&self) -> EngineKind {
        self.engine
    }

    /// Runs every call on `engine` from now on. Asking for rbpf is ignored for a program
    /// that needs the tracer.
    pub fn set_engine(&mut self, engine: EngineKind) {
        self.engine = if self.code.needs_tracer() {
            EngineKind::Tracer
        } else {
            engine
        };
    }

    /// The prepared program.
    pub fn code(&self) -> &Code {
        &self.code
    }

    /// Asks for call `req.call` of a session to run on the tracing interpreter with every
    /// step recorded; [`Machine::take_trace`] returns the record once it ran.
    pub fn request_trace(&mut self, req: TraceRequest) {
        self.trace = Some(req);
        self.traced = None;
    }

    /// The record of the requested call, once it ran.
    pub fn take_trace(&mut self) -> Option<TracedCall> {
        self.traced.take()
    }

    /// Every guest region of the machine with a stable name (for comparing two machines
    /// built from the same scenario): `ctx`, `models`, `seq_file`, `map<i>.<j>`.
    pub fn named_regions(&self) -> Vec<(String, &Region)> {
        let w = self.world();
        let mut out = vec![
            ("ctx".to_string(), &self.ctx),
            ("models".to_string(), &w.models),
            ("seq_file".to_string(), &w.seq_file),
        ];
        for (i, m) in w.maps.iter().enumerate() {
            for (j, r) in m.regions().into_iter().enumerate() {
                out.push((format!("map{i}.{j}"), r));
            }
        }
        out
    }

    /// The world (maps, trace pipe), between reads.
    pub fn world(&self) -> &World {
        self.world
            .as_deref()
            .expect("world is only lent out during a run")
    }

    /// The world, mutably (e.g. to edit maps between reads).
    pub fn world_mut(&mut self) -> &mut World {
        self.world
            .as_deref_mut()
            .expect("world is only lent out during a run")
    }

    /// Opens a session (a new iterator file): seq_num 0, the next session id.
    pub fn open(&mut self) -> Session {
        let s = Session {
            session_id: self.next_session_id,
            ..Session::default()
        };
        self.next_session_id += 1;
        s
    }

    /// Takes the call records gathered so far.
    pub fn take_records(&mut self) -> Vec<CallRecord> {
        std::mem::take(&mut self.records)
    }

    /// Drains the call records gathered so far, keeping the buffer's capacity for the next
    /// ones (a caller that packs records after each budgeted chunk allocates it once).
    pub fn drain_records(&mut self) -> std::vec::Drain<'_, CallRecord> {
        self.records.drain(..)
    }

    /// Bytes of session `s` in the seq_file buffer that read(2) has not returned yet: the
    /// pending rest of the last fill between reads, or everything the in-flight read has
    /// buffered so far while it is paused. Lets a UI show output growing call by call.
    pub fn seq_buffered(&self, s: &Session) -> &[u8] {
        let buf = &self.world().seq.buf;
        if s.inflight.is_some() {
            buf
        } else {
            buf.get(s.pending_from..s.pending_from + s.pending)
                .unwrap_or_default()
        }
    }

    /// One `read(fd, buf, size)`: appends what it returns to `out` and returns its length
    /// (0 = EOF). Runs the whole read, however many program calls it takes (at most
    /// [`MAX_ITER_OBJECTS`] elements, or what fits in the 32 KiB buffer).
    pub fn read(
        &mut self,
        s: &mut Session,
        size: usize,
        out: &mut Vec<u8>,
    ) -> Result<usize, ReadError> {
        loop {
            let mut budget = u64::MAX;
            if let ReadStep::Done(r) = self.read_budgeted(s, size, out, &mut budget) {
                return r;
            }
        }
    }

    /// Like [`Machine::read`], but runs at most `budget` program calls (decremented as they
    /// run) and returns [`ReadStep::Paused`] when it is spent; calling again with the same
    /// session continues the same read where it stopped. Nothing is observable in between:
    /// the read's result is the one an uninterrupted read gives. This is how a UI keeps a
    /// million-element run responsive and cancellable.
    pub fn read_budgeted(
        &mut self,
        s: &mut Session,
        size: usize,
        out: &mut Vec<u8>,
        budget: &mut u64,
    ) -> ReadStep {
        if s.inflight.is_none() {
            s.reads += 1;
            if let Some(done) = self.begin_read(s, size, out) {
                return self.finish(s, done);
            }
        }
        let vm = match self.engine {
            EngineKind::Tracer => Ok(None),
            EngineKind::Rbpf => self.code.vm(&self.regions).map(Some),
        };
        let vm = match vm {
            Ok(vm) => vm,
            Err(source) => {
                let e = ReadError::Run {
                    call: s.calls,
                    seq_num: s.seq_num,
                    source,
                };
                s.inflight = None;
                return self.finish(s, Err(e));
            }
        };
        let Machine {
            code: _,
            world,
            ctx,
            record,
            records,
            stack,
            trace,
            traced,
            ..
        } = self;
        let mut d = Driver {
            vm: vm.as_ref(),
            code: &self.code,
            world,
            ctx,
            stack,
            trace: trace.as_ref(),
            traced,
            record: *record,
            records,
            read_index: s.reads - 1,
        };
        let r = d.advance(s, out, budget);
        match r {
            None => ReadStep::Paused,
            Some(done) => {
                s.inflight = None;
                self.finish(s, done)
            }
        }
    }

    fn finish(&mut self, s: &mut Session, r: Result<usize, ReadError>) -> ReadStep {
        if let Ok(n) = &r {
            s.read_calls += 1;
            if *n == 0 {
                s.eof = true;
            }
        }
        ReadStep::Done(r)
    }

    /// The start of a read: pending bytes, or an empty buffer and the first element.
    fn begin_read(
        &mut self,
        s: &mut Session,
        size: usize,
        out: &mut Vec<u8>,
    ) -> Option<Result<usize, ReadError>> {
        if size == 0 {
            return Some(Ok(0));
        }
        let w = self.world_mut();
        if s.pending > 0 {
            let n = s.pending.min(size);
            out.extend_from_slice(&w.seq.buf[s.pending_from..s.pending_from + n]);
            s.pending -= n;
            s.pending_from += n;
            return Some(Ok(n));
        }
        w.seq.truncate(0);
        w.ktime_ns += 1_000;
        s.pending_from = 0;
        let phase = match w.maps[0].iter_start(&mut s.cursor) {
            // The first element is shown like any other with an empty buffer before it:
            // failing then is an error of the read itself, as in the kernel.
            Some(elem) => Phase::Next { elem, offs: 0 },
            None => Phase::Stop,
        };
        s.inflight = Some(InFlight {
            size,
            phase,
            num_objs: 0,
        });
        None
    }
}

/// What [`Machine::read_budgeted`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadStep {
    /// The read finished with this result.
    Done(Result<usize, ReadError>),
    /// The call budget ran out; call again to continue the same read.
    Paused,
}

/// Where an in-flight read is (kept in the session while paused).
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// About to show an element whose output starts at `offs` (0 for the read's first).
    Next { elem: IterElem, offs: usize },
    /// The map is exhausted: about to run the stop call (if not done yet).
    Stop,
}

#[derive(Debug, Clone, Copy)]
struct InFlight {
    size: usize,
    phase: Phase,
    num_objs: u64,
}

/// Borrowed pieces of a machine for one read.
struct Driver<'a, 'v> {
    /// rbpf, or None: the tracing interpreter.
    vm: Option<&'a Vm<'v>>,
    code: &'a Code,
    world: &'a mut Option<Box<World>>,
    ctx: &'a mut Region,
    stack: &'a mut Region,
    trace: Option<&'a TraceRequest>,
    traced: &'a mut Option<TracedCall>,
    record: bool,
    records: &'a mut Vec<CallRecord>,
    read_index: u32,
}

impl Driver<'_, '_> {
    /// Runs the in-flight read until it is done (Some) or the budget is spent (None).
    fn advance(
        &mut self,
        s: &mut Session,
        out: &mut Vec<u8>,
        budget: &mut u64,
    ) -> Option<Result<usize, ReadError>> {
        let Some(mut st) = s.inflight else {
            return Some(Ok(0));
        };
        loop {
            match st.phase {
                Phase::Next { elem, offs } => {
                    if *budget == 0 {
                        s.inflight = Some(st);
                        return None;
                    }
                    *budget -= 1;
                    let ret = match self.show(s, Some(elem)) {
                        Ok(r) => r,
                        Err(e) => return Some(Err(e)),
                    };
                    if ret != 0 || self.w().seq.overflowed {
                        self.discard_last();
                        self.w().seq.truncate(offs);
                        if offs == 0 {
                            let e = if ret != 0 {
                                Errno::EAGAIN
                            } else {
                                Errno::E2BIG
                            };
                            return Some(Err(ReadError::Errno(e)));
                        }
                        return Some(Ok(self.copy_out(s, st.size, out)));
                    }
                }
                Phase::Stop => {
                    if !s.done_stop {
                        if *budget == 0 {
                            s.inflight = Some(st);
                            return None;
                        }
                        *budget -= 1;
                        let offs = self.w().seq.buf.len();
                        if let Err(e) = self.show(s, None) {
                            return Some(Err(e));
                        }
                        if self.w().seq.overflowed {
                            self.discard_last();
                            self.w().seq.truncate(offs);
                            if offs == 0 {
                                return Some(Err(ReadError::Errno(Errno::E2BIG)));
                            }
                        } else {
                            s.done_stop = true;
                        }
                    }
                    return Some(Ok(self.copy_out(s, st.size, out)));
                }
            }
            // A shown element: move to the next one, as the kernel's loop does.
            st.num_objs += 1;
            let offs = self.w().seq.buf.len();
            match self.w().maps[0].iter_next(&mut s.cursor) {
                None => st.phase = Phase::Stop,
                Some(elem) => {
                    s.seq_num += 1;
                    if offs >= st.size {
                        return Some(Ok(self.copy_out(s, st.size, out)));
                    }
                    if st.num_objs >= MAX_ITER_OBJECTS {
                        if offs == 0 {
                            return Some(Err(ReadError::Errno(Errno::EAGAIN)));
                        }
                        return Some(Ok(self.copy_out(s, st.size, out)));
                    }
                    st.phase = Phase::Next { elem, offs };
                }
            }
        }
    }

    /// Copies up to `size` buffered bytes to the reader and keeps the rest pending.
    fn copy_out(&mut self, s: &mut Session, size: usize, out: &mut Vec<u8>) -> usize {
        let w = self.w();
        let n = w.seq.buf.len().min(size);
        out.extend_from_slice(&w.seq.buf[..n]);
        s.pending = w.seq.buf.len() - n;
        s.pending_from = n;
        n
    }

    fn w(&mut self) -> &mut World {
        self.world
            .as_deref_mut()
            .expect("world is only lent out during a run")
    }

    fn discard_last(&mut self) {
        if let Some(r) = self.records.last_mut() {
            r.discarded = true;
        }
    }

    /// Runs the call on the tracing interpreter, recording its steps when `req` asks.
    fn run_tracer(
        &mut self,
        req: Option<&TraceRequest>,
        call: u64,
        seq_num: u64,
        elem: Option<((u64, usize), (u64, usize))>,
    ) -> Result<u64, RunError> {
        let Some(world) = self.world.as_deref_mut() else {
            return Err(RunError::Engine {
                message: "the world is lent out".into(),
            });
        };
        let mut rec = req.map(|t| {
            let classifier = Classifier::new(
                world,
                self.ctx,
                self.stack,
                elem.map(|e| e.0),
                elem.map(|e| e.1),
                &t.globals,
            );
            Recorder::new(t.limits.max_steps, classifier)
        });
        let budget = req.map_or(TRACER_CALL_BUDGET, |t| t.limits.max_insns);
        let mut guest = Guest {
            world,
            ctx: self.ctx,
            stack: self.stack,
        };
        let exec = interp::run(self.code, &mut guest, budget, rec.as_mut());
        if let Some(rec) = rec {
            let budget_hit = matches!(exec.result, Err(RunError::Budget { .. }));
            *self.traced = Some(TracedCall {
                call,
                seq_num,
                is_stop: elem.is_none(),
                steps: rec.steps,
                truncated: rec.truncated || budget_hit,
                insns: exec.insns,
                result: exec.result.clone(),
                stack: self.stack.bytes().to_vec(),
            });
        }
        exec.result
    }

    /// Runs the program on `elem` (None: the stop call); returns r0.
    fn show(&mut self, s: &mut Session, elem: Option<IterElem>) -> Result<u64, ReadError> {
        let (key_addr, value_addr) = elem.map_or((0, 0), |e| (e.key_addr, e.value_addr));
        {
            let c = self.ctx.bytes_mut();
            c[16..24].copy_from_slice(&key_addr.to_le_bytes());
            c[24..32].copy_from_slice(&value_addr.to_le_bytes());
            c[META_OFF + 8..META_OFF + 16].copy_from_slice(&s.session_id.to_le_bytes());
            c[META_OFF + 16..META_OFF + 24].copy_from_slice(&s.seq_num.to_le_bytes());
        }
        let rerun = elem.is_some() && s.last_shown == Some(s.seq_num);
        if elem.is_some() {
            s.last_shown = Some(s.seq_num);
        }
        let record = self.record;
        let (ks, vs, offs) = {
            let w = self.w();
            let m = &w.maps[0];
            let ks = m.def().key_size as usize;
            let vs = m.iter_value_size();
            if record {
                w.calls = Some(Vec::new());
            }
            w.fault = None;
            (ks, vs, w.seq.buf.len())
        };
        let before = if record {
            elem.map(|_| {
                let w = self.w();
                // An sk_storage element's "key" is its socket: record the socket's fd, the
                // key user space looks the storage up with.
                let key = match w.maps[0].record_key(key_addr) {
                    Some(fd) => fd.to_vec(),
                    None => w.peek(key_addr, ks).map(<[u8]>::to_vec).unwrap_or_default(),
                };
                (
                    key,
                    w.peek(value_addr, vs)
                        .map(<[u8]>::to_vec)
                        .unwrap_or_default(),
                )
            })
        } else {
            None
        };
        let call = s.calls;
        s.calls += 1;
        let r = match (self.vm, self.trace.filter(|t| t.call == call)) {
            (Some(vm), None) => vm.run(self.world, self.ctx.bytes_mut()),
            (_, req) => {
                let elem = elem.map(|_| ((key_addr, ks), (value_addr, vs)));
                self.run_tracer(req, call, s.seq_num, elem)
            }
        };
        let ret = r.map_err(|source| ReadError::Run {
            call,
            seq_num: s.seq_num,
            source,
        })?;
        if record {
            let read = self.read_index;
            let w = self.w();
            let output = w
                .seq
                .buf
                .get(offs..)
                .map(<[u8]>::to_vec)
                .unwrap_or_default();
            let value_after = elem.and_then(|_| w.peek(value_addr, vs).map(<[u8]>::to_vec));
            let helpers = w.calls.take().unwrap_or_default();
            let fault = w.fault.take();
            let (key, value_before) = match before {
                Some((k, v)) => (Some(k), Some(v)),
                None => (None, None),
            };
            self.records.push(CallRecord {
                seq_num: s.seq_num,
                is_stop: elem.is_none(),
                rerun,
                read,
                key,
                value_before,
                value_after,
                output,
                discarded: false,
                ret,
                helpers,
                fault,
            });
        }
        Ok(ret)
    }
}
