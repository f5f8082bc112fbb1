//! Incremental runs for an interactive UI: a scenario's first read session advanced a few
//! program calls at a time, with its output and a compact call log readable in between.
//!
//! [`LiveRun::start`] does what [`run_scenario`](crate::scenario::run_scenario) does before
//! the first read (map fill, verifier, attach) and exposes the same verdicts.
//! [`LiveRun::advance`] then runs at most N program invocations of the first read session
//! (every invocation counts: re-runs after an overflow or a return of 1, and the final NULL
//! call), issuing `read(2)`s of the scenario's first read size back to back until EOF or a
//! read error, and pausing a read in the middle when the budget is spent
//! ([`Machine::read_budgeted`]). Between two advances the caller sees the bytes `read(2)`
//! returned ([`LiveRun::output`]), the bytes still in the seq_file buffer
//! ([`LiveRun::seq_buffered`]), the completed reads and the [`CallLog`]: one byte arena plus
//! a fixed 64-byte index entry per call, so a million calls cost tens of megabytes rather
//! than a million small heap allocations, and any window of rows reads back as borrowed
//! [`CallView`]s. [`LiveRun::into_report`] runs the rest (the first session to its end, then
//! the other sessions) and returns the [`Report`] `run_scenario` returns for the same
//! inputs.
//!
//! Not here: timing and scheduling (the caller picks a chunk size that keeps its frame
//! budget), stepping inside one program invocation (instruction by instruction), and
//! recording sessions other than the first (see `trace` for one call instruction by
//! instruction). The instruction count of a call is not recorded: the rbpf interpreter does
//! not report it.

use std::mem::size_of;

use crate::errno::Errno;
use crate::helpers::runtime::{HelperCall, HelperFault, World};
use crate::iter::{CallRecord, Machine, ReadError};
use crate::scenario::{
    run_session, GlobalSnapshot, Loaded, Report, RunOptions, Scenario, SessionRun, UpdateFailure,
};
use crate::Error;

/// Why a live run cannot go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LiveError {
    /// A part of a call's record does not fit the log's 32-bit lengths.
    #[error("call {call}: {what} of {len} bytes does not fit the call log")]
    RecordTooLarge {
        /// Index of the call in the session.
        call: usize,
        /// Which part (`key`, `value before`, `output`, ...).
        what: &'static str,
        /// Its length.
        len: usize,
    },
}

/// Flag bits of an [`Entry`].
const STOP: u8 = 1;
const RERUN: u8 = 1 << 1;
const DISCARDED: u8 = 1 << 2;
const HAS_KEY: u8 = 1 << 3;
const HAS_BEFORE: u8 = 1 << 4;
const HAS_AFTER: u8 = 1 << 5;
const HAS_FAULT: u8 = 1 << 6;

/// One call's fixed-size index entry: its scalars, and where its bytes (key, value before,
/// value after, output, in this order) and helper calls are in the log's flat buffers.
#[derive(Debug, Clone, Copy)]
struct Entry {
    seq_num: u64,
    ret: u64,
    start: u64,
    helpers_start: u64,
    read: u32,
    key_len: u32,
    before_len: u32,
    after_len: u32,
    output_len: u32,
    helpers_len: u32,
    flags: u8,
}

const _: () = assert!(size_of::<Entry>() <= 64);

/// A compact log of program calls: one byte arena, one flat list of helper calls and one
/// fixed-size index entry per call; helper faults (which the verifier prevents, so rare) in
/// a side table. Appending a call copies its bytes and allocates nothing once the buffers
/// have grown.
///
/// # Examples
///
/// ```
/// use iterscope_emulator::iter::CallRecord;
/// use iterscope_emulator::live::CallLog;
///
/// let mut log = CallLog::new();
/// let rec = CallRecord {
///     seq_num: 0,
///     is_stop: false,
///     rerun: false,
///     read: 0,
///     key: Some(vec![1, 0, 0, 0]),
///     value_before: Some(vec![5; 8]),
///     value_after: Some(vec![6; 8]),
///     output: b"1 5\n".to_vec(),
///     discarded: false,
///     ret: 0,
///     helpers: Vec::new(),
///     fault: None,
/// };
/// log.push(&rec)?;
/// let call = log.get(0).expect("one call");
/// assert_eq!(call.key, Some(&[1, 0, 0, 0][..]));
/// assert_eq!(call.output, b"1 5\n");
/// assert_eq!(call.to_record(), rec);
/// # Ok::<(), iterscope_emulator::live::LiveError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct CallLog {
    entries: Vec<Entry>,
    arena: Vec<u8>,
    helpers: Vec<HelperCall>,
    faults: Vec<(usize, HelperFault)>,
}

/// One logged call, borrowed from a [`CallLog`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallView<'a> {
    /// `meta->seq_num` the program saw.
    pub seq_num: u64,
    /// The final call with NULL key and value.
    pub is_stop: bool,
    /// A repeat of an element after an overflow or a return of 1.
    pub rerun: bool,
    /// Its output was discarded (overflow or retry).
    pub discarded: bool,
    /// Index of the read(2) in the session during which it ran.
    pub read: u32,
    /// r0.
    pub ret: u64,
    /// Key bytes (None on the stop call).
    pub key: Option<&'a [u8]>,
    /// Value bytes before the call.
    pub value_before: Option<&'a [u8]>,
    /// Value bytes after the call.
    pub value_after: Option<&'a [u8]>,
    /// Bytes the call added to the seq buffer (before any discard).
    pub output: &'a [u8],
    /// Helper calls in order.
    pub helpers: &'a [HelperCall],
    /// A helper fault the verifier would have prevented.
    pub fault: Option<&'a HelperFault>,
}

impl CallView<'_> {
    /// The owned [`CallRecord`] this view was packed from.
    pub fn to_record(&self) -> CallRecord {
        CallRecord {
            seq_num: self.seq_num,
            is_stop: self.is_stop,
            rerun: self.rerun,
            read: self.read,
            key: self.key.map(<[u8]>::to_vec),
            value_before: self.value_before.map(<[u8]>::to_vec),
            value_after: self.value_after.map(<[u8]>::to_vec),
            output: self.output.to_vec(),
            discarded: self.discarded,
            ret: self.ret,
            helpers: self.helpers.to_vec(),
            fault: self.fault.cloned(),
        }
    }
}

impl CallLog {
    /// Bytes of index per call, whatever the call's contents.
    pub const INDEX_BYTES_PER_CALL: usize = size_of::<Entry>();

    /// An empty log.
    pub fn new() -> CallLog {
        CallLog::default()
    }

    /// Calls logged.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no call is logged.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends one call.
    ///
    /// # Errors
    ///
    /// [`LiveError::RecordTooLarge`] when a part is 4 GiB or more (the log is unchanged).
    pub fn push(&mut self, r: &CallRecord) -> Result<(), LiveError> {
        let call = self.entries.len();
        let len32 = |what: &'static str, len: usize| {
            u32::try_from(len).map_err(|_| LiveError::RecordTooLarge { call, what, len })
        };
        let key_len = len32("key", part(&r.key).len())?;
        let before_len = len32("value before", part(&r.value_before).len())?;
        let after_len = len32("value after", part(&r.value_after).len())?;
        let output_len = len32("output", r.output.len())?;
        let helpers_len = len32("helper list", r.helpers.len())?;
        let mut flags = 0;
        for (set, bit) in [
            (r.is_stop, STOP),
            (r.rerun, RERUN),
            (r.discarded, DISCARDED),
            (r.key.is_some(), HAS_KEY),
            (r.value_before.is_some(), HAS_BEFORE),
            (r.value_after.is_some(), HAS_AFTER),
            (r.fault.is_some(), HAS_FAULT),
        ] {
            if set {
                flags |= bit;
            }
        }
        self.entries.push(Entry {
            seq_num: r.seq_num,
            ret: r.ret,
            start: self.arena.len() as u64,
            helpers_start: self.helpers.len() as u64,
            read: r.read,
            key_len,
            before_len,
            after_len,
            output_len,
            helpers_len,
            flags,
        });
        self.arena.extend_from_slice(part(&r.key));
        self.arena.extend_from_slice(part(&r.value_before));
        self.arena.extend_from_slice(part(&r.value_after));
        self.arena.extend_from_slice(&r.output);
        self.helpers.extend_from_slice(&r.helpers);
        if let Some(f) = &r.fault {
            self.faults.push((call, f.clone()));
        }
        Ok(())
    }

    /// Appends `records` in order, stopping at the first that does not fit.
    ///
    /// # Errors
    ///
    /// [`LiveError::RecordTooLarge`], as [`CallLog::push`].
    pub fn extend(
        &mut self,
        records: impl IntoIterator<Item = CallRecord>,
    ) -> Result<(), LiveError> {
        records.into_iter().try_for_each(|r| self.push(&r))
    }

    /// Call `i`, borrowing its bytes from the log.
    pub fn get(&self, i: usize) -> Option<CallView<'_>> {
        let e = self.entries.get(i)?;
        let mut at = usize::try_from(e.start).ok()?;
        let mut take = |len: u32| {
            let end = at.checked_add(usize::try_from(len).ok()?)?;
            let s = self.arena.get(at..end)?;
            at = end;
            Some(s)
        };
        let has = |bit: u8| e.flags & bit != 0;
        let key = take(e.key_len)?;
        let before = take(e.before_len)?;
        let after = take(e.after_len)?;
        let output = take(e.output_len)?;
        let h = usize::try_from(e.helpers_start).ok()?;
        let helpers = self
            .helpers
            .get(h..h.checked_add(usize::try_from(e.helpers_len).ok()?)?)?;
        let fault = if has(HAS_FAULT) {
            self.faults
                .binary_search_by_key(&i, |(c, _)| *c)
                .ok()
                .and_then(|j| self.faults.get(j))
                .map(|(_, f)| f)
        } else {
            None
        };
        Some(CallView {
            seq_num: e.seq_num,
            is_stop: has(STOP),
            rerun: has(RERUN),
            discarded: has(DISCARDED),
            read: e.read,
            ret: e.ret,
            key: has(HAS_KEY).then_some(key),
            value_before: has(HAS_BEFORE).then_some(before),
            value_after: has(HAS_AFTER).then_some(after),
            output,
            helpers,
            fault,
        })
    }

    /// Every call in order.
    pub fn iter(&self) -> impl Iterator<Item = CallView<'_>> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// The calls as owned [`CallRecord`]s (what [`Report::calls`] holds).
    pub fn to_records(&self) -> Vec<CallRecord> {
        self.iter().map(|c| c.to_record()).collect()
    }

    /// Bytes the log holds: index entries, arena bytes, helper calls and faults.
    pub fn stored_bytes(&self) -> usize {
        self.entries.len() * size_of::<Entry>()
            + self.arena.len()
            + self.helpers.len() * size_of::<HelperCall>()
            + self
                .faults
                .iter()
                .map(|(_, f)| size_of::<(usize, HelperFault)>() + f.what.len())
                .sum::<usize>()
    }

    /// Bytes the log has allocated (its buffers' capacities; at most about twice
    /// [`CallLog::stored_bytes`], as the buffers grow by doubling).
    pub fn heap_bytes(&self) -> usize {
        self.entries.capacity() * size_of::<Entry>()
            + self.arena.capacity()
            + self.helpers.capacity() * size_of::<HelperCall>()
            + self.faults.capacity() * size_of::<(usize, HelperFault)>()
            + self
                .faults
                .iter()
                .map(|(_, f)| f.what.capacity())
                .sum::<usize>()
    }

    /// [`CallLog::stored_bytes`] per call, rounded up (0 when empty).
    pub fn bytes_per_call(&self) -> usize {
        self.stored_bytes().div_ceil(self.len().max(1))
    }
}

/// The bytes of an optional part of a record (empty when absent).
fn part(b: &Option<Vec<u8>>) -> &[u8] {
    b.as_deref().unwrap_or_default()
}

/// One completed `read(2)` of the live session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadResult {
    /// Index of the read in the session (0 for the first).
    pub index: u32,
    /// Bytes returned (0: EOF) or the errno.
    pub result: Result<usize, Errno>,
}

/// What one [`LiveRun::advance`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Advance {
    /// Program invocations that ran.
    pub calls: u64,
    /// Reads that completed, in order.
    pub reads: Vec<ReadResult>,
    /// The first session is over (EOF, a read error, or nothing to run).
    pub finished: bool,
}

/// Why the run stopped early; kept so later calls report the same error.
#[derive(Debug, Clone)]
enum Stopped {
    Read(ReadError),
    Live(LiveError),
}

impl From<Stopped> for Error {
    fn from(s: Stopped) -> Error {
        match s {
            Stopped::Read(e) => Error::Read(e),
            Stopped::Live(e) => Error::Live(e),
        }
    }
}

/// A scenario run that advances a budget of program calls at a time (see the module docs).
///
/// # Examples
///
/// ```no_run
/// use iterscope_emulator::live::LiveRun;
/// use iterscope_emulator::scenario::{RunOptions, Scenario};
///
/// let sc = Scenario::from_json(&std::fs::read_to_string("examples/hash_dump.json")?)?;
/// let obj = std::fs::read("examples/hash_dump.bpf.o")?;
/// let mut run = LiveRun::start(&sc, &obj, "hash_dump", &RunOptions::default())?;
/// while !run.is_finished() {
///     let step = run.advance(10_000)?; // one frame's worth
///     eprintln!("{}/{} calls", run.calls_done(), run.estimated_calls());
///     let _ = step.reads;
/// }
/// let last = run.log().get(run.log().len() - 1).expect("the NULL call");
/// assert!(last.is_stop);
/// let report = run.into_report()?;
/// print!("{}", String::from_utf8_lossy(report.output()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct LiveRun {
    loaded: Loaded,
    read_sizes: Vec<usize>,
    first: Option<SessionRun>,
    log: CallLog,
    reads: Vec<ReadResult>,
    record_calls: bool,
    estimated_calls: u64,
    stopped: Option<Stopped>,
}

impl LiveRun {
    /// Loads `object`, fills the maps, verifies and attaches as
    /// [`run_scenario`](crate::scenario::run_scenario) does, and opens the first read
    /// session (when the program attached and the scenario has a read).
    ///
    /// # Errors
    ///
    /// What `run_scenario` returns before its first read: [`Error::Elf`],
    /// [`Error::Scenario`] (bad fields, map creation, a zero read size).
    pub fn start(
        sc: &Scenario,
        object: &[u8],
        object_name: &str,
        opts: &RunOptions,
    ) -> Result<LiveRun, Error> {
        let mut loaded = Loaded::new(sc, object, object_name, opts)?;
        let (first, estimated_calls) = match (loaded.runnable(), sc.reads.first()) {
            (Some(machine), Some(spec)) => {
                let elements = machine.world().maps[0].len() as u64;
                (
                    Some(SessionRun::open(machine, spec.read_size)?),
                    elements + 1,
                )
            }
            _ => (None, 0),
        };
        Ok(LiveRun {
            loaded,
            read_sizes: sc.reads.iter().map(|r| r.read_size).collect(),
            first,
            log: CallLog::new(),
            reads: Vec::new(),
            record_calls: opts.record_calls,
            estimated_calls,
            stopped: None,
        })
    }

    /// `ok` or `rejected`, as [`Report::load`].
    pub fn load(&self) -> &str {
        self.loaded.summary.load
    }

    /// The verifier's complaint, `""` when loaded ([`Report::verifier_error`]).
    pub fn verifier_error(&self) -> &str {
        &self.loaded.summary.verifier_error
    }

    /// strerror of a rejected load ([`Report::load_error`]).
    pub fn load_error(&self) -> Option<&str> {
        self.loaded.summary.load_error.as_deref()
    }

    /// The verifier's log in the kernel's format ([`Report::verifier_log`]).
    pub fn verifier_log(&self) -> &str {
        &self.loaded.summary.verifier_log
    }

    /// `ok`, `failed: <strerror> (<ERRNO>)`, or None when the load failed
    /// ([`Report::attach`]).
    pub fn attach(&self) -> Option<&str> {
        self.loaded.summary.attach.as_deref()
    }

    /// Failed entries and ops of the map fill ([`Report::map_update_failures`]).
    pub fn map_update_failures(&self) -> &[UpdateFailure] {
        &self.loaded.summary.failures
    }

    /// The global data sections (`.bss`, `.data`, …) as they are now, as
    /// [`Report::globals`] lists them (empty when the load failed).
    pub fn globals(&self) -> Vec<GlobalSnapshot> {
        self.loaded.globals()
    }

    /// The engine that runs the program's calls: rbpf, or the tracing interpreter for a
    /// program rbpf cannot execute ([`Report::engine`]).
    pub fn engine(&self) -> crate::trace::EngineKind {
        self.loaded
            .machine()
            .map_or(crate::trace::EngineKind::Rbpf, Machine::engine)
    }

    /// The maps and trace pipe as they are now (None when the load failed).
    pub fn world(&self) -> Option<&World> {
        self.loaded.machine().map(Machine::world)
    }

    /// Runs at most `max_calls` program invocations of the first read session, issuing
    /// reads until EOF or a read error; a read interrupted by the budget continues on the
    /// next call. `advance(1)` steps to the next invocation. Reads that need no program
    /// call (bytes left from the previous fill, the final EOF) complete even with a spent
    /// budget.
    ///
    /// # Errors
    ///
    /// [`Error::Read`] when the engine stops a program (something Linux never does), and
    /// [`Error::Live`] when a call does not fit the log; the run then stays stopped and
    /// every later call returns the same error.
    pub fn advance(&mut self, max_calls: u64) -> Result<Advance, Error> {
        if let Some(s) = &self.stopped {
            return Err(s.clone().into());
        }
        let (Some(run), Some(machine)) = (self.first.as_mut(), self.loaded.runnable()) else {
            return Ok(Advance {
                finished: true,
                ..Advance::default()
            });
        };
        let calls_before = run.session.calls;
        let mut new_reads = Vec::new();
        let mut budget = max_calls;
        machine.record = true;
        let r = run.advance(machine, &mut budget, |index, result| {
            new_reads.push(ReadResult { index, result });
        });
        machine.record = false;
        let packed = self.log.extend(machine.drain_records());
        self.reads.extend_from_slice(&new_reads);
        let adv = Advance {
            calls: run.session.calls - calls_before,
            reads: new_reads,
            finished: run.finished,
        };
        match (r, packed) {
            (Err(Error::Read(e)), _) => {
                self.stopped = Some(Stopped::Read(e.clone()));
                Err(Error::Read(e))
            }
            (Err(e), _) => Err(e),
            (Ok(()), Err(e)) => {
                self.stopped = Some(Stopped::Live(e.clone()));
                Err(Error::Live(e))
            }
            (Ok(()), Ok(())) => Ok(adv),
        }
    }

    /// Program invocations of the first session so far.
    pub fn calls_done(&self) -> u64 {
        self.first.as_ref().map_or(0, |r| r.session.calls)
    }

    /// A progress hint: elements in the iterated map when the session opened, plus one for
    /// the NULL call (0 when nothing runs). Re-runs, and programs that add elements, can
    /// make [`LiveRun::calls_done`] exceed it.
    pub fn estimated_calls(&self) -> u64 {
        self.estimated_calls
    }

    /// Whether the first session is over (EOF, a read error, nothing to run, or a stop at
    /// an error).
    pub fn is_finished(&self) -> bool {
        self.stopped.is_some() || self.first.as_ref().is_none_or(|r| r.finished)
    }

    /// Bytes read(2) returned so far in the first session.
    pub fn output(&self) -> &[u8] {
        self.first.as_ref().map_or(&[], |r| r.bytes.as_slice())
    }

    /// Bytes in the seq_file buffer that no read(2) has returned yet (see
    /// [`Machine::seq_buffered`]); `output() + seq_buffered()` is what the calls in the log
    /// that were not discarded wrote.
    pub fn seq_buffered(&self) -> &[u8] {
        match (&self.first, self.loaded.machine()) {
            (Some(run), Some(machine)) => machine.seq_buffered(&run.session),
            _ => &[],
        }
    }

    /// The reads of the first session that have completed.
    pub fn reads(&self) -> &[ReadResult] {
        &self.reads
    }

    /// The first session's calls so far.
    pub fn log(&self) -> &CallLog {
        &self.log
    }

    /// Finishes the run: the rest of the first session, then the other read sessions.
    /// Returns the report [`run_scenario`](crate::scenario::run_scenario) returns for the
    /// same inputs (with [`Report::calls`] rebuilt from the log when
    /// [`RunOptions::record_calls`] is set) and the whole call log.
    ///
    /// # Errors
    ///
    /// What `run_scenario` returns for the reads, or the error that stopped an advance.
    pub fn finish(mut self) -> Result<(Report, CallLog), Error> {
        if let Some(s) = self.stopped {
            return Err(s.into());
        }
        let mut reads = Vec::with_capacity(self.read_sizes.len());
        if let (Some(mut run), Some(machine)) = (self.first.take(), self.loaded.runnable()) {
            let mut unlimited = u64::MAX;
            machine.record = true;
            let r = run.advance(machine, &mut unlimited, |_, _| {});
            machine.record = false;
            self.log.extend(machine.drain_records())?;
            r?;
            reads.push(run.into_report());
            for &size in self.read_sizes.iter().skip(1) {
                reads.push(run_session(machine, size)?);
            }
        }
        let calls = if self.record_calls {
            self.log.to_records()
        } else {
            Vec::new()
        };
        Ok((self.loaded.into_report(reads, calls), self.log))
    }

    /// [`LiveRun::finish`] without the log.
    ///
    /// # Errors
    ///
    /// As [`LiveRun::finish`].
    pub fn into_report(self) -> Result<Report, Error> {
        self.finish().map(|(report, _)| report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::run_scenario;

    fn record(i: u64, stop: bool) -> CallRecord {
        CallRecord {
            seq_num: i,
            is_stop: stop,
            rerun: i % 3 == 1,
            read: (i / 4) as u32,
            key: (!stop).then(|| i.to_le_bytes()[..4].to_vec()),
            value_before: (!stop).then(|| vec![i as u8; 8]),
            value_after: (!stop).then(|| vec![i as u8 + 1; 8]),
            output: format!("line {i}\n").into_bytes(),
            discarded: i % 5 == 2,
            ret: i % 2,
            helpers: vec![
                HelperCall {
                    id: 126,
                    args: [i, 2, 3, 4, 5],
                    ret: 0,
                };
                (i % 3) as usize
            ],
            fault: (i == 4).then(|| HelperFault {
                helper: 1,
                what: "bad pointer".into(),
            }),
        }
    }

    #[test]
    fn packs_and_reads_back_every_field() {
        let recs: Vec<CallRecord> = (0..20).map(|i| record(i, i == 19)).collect();
        let mut log = CallLog::new();
        log.extend(recs.iter().cloned()).unwrap();
        assert_eq!(log.len(), 20);
        assert_eq!(log.to_records(), recs);
        assert!(log.get(20).is_none());
        let v = log.get(4).unwrap();
        assert_eq!(v.fault.map(|f| f.what.as_str()), Some("bad pointer"));
        assert_eq!(v.helpers.len(), 1);
        assert_eq!(log.get(19).unwrap().key, None);
        assert!(log.get(5).unwrap().fault.is_none());
    }

    #[test]
    fn empty_parts_stay_distinct_from_missing_ones() {
        let mut r = record(0, false);
        r.key = Some(Vec::new());
        r.value_after = None;
        let mut log = CallLog::new();
        log.push(&r).unwrap();
        let v = log.get(0).unwrap();
        assert_eq!(v.key, Some(&[][..]));
        assert_eq!(v.value_after, None);
        assert_eq!(v.to_record(), r);
    }

    #[test]
    fn the_index_is_at_most_64_bytes_per_call() {
        const { assert!(CallLog::INDEX_BYTES_PER_CALL <= 64) };
        let mut log = CallLog::new();
        assert_eq!(log.bytes_per_call(), 0);
        let mut r = record(3, false);
        r.helpers.clear();
        for _ in 0..100 {
            log.push(&r).unwrap();
        }
        // 4 key + 8 + 8 value bytes + 7 output bytes beside the index entry.
        assert_eq!(log.bytes_per_call(), CallLog::INDEX_BYTES_PER_CALL + 27);
        assert!(log.heap_bytes() >= log.stored_bytes());
    }

    fn example() -> (Scenario, Vec<u8>) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
        let sc = Scenario::from_json(&std::fs::read_to_string(dir.join("array_sum.json")).unwrap())
            .unwrap();
        let obj = std::fs::read(dir.join(&sc.program)).unwrap();
        (sc, obj)
    }

    #[test]
    fn steps_one_call_at_a_time_to_the_report() {
        let (sc, obj) = example();
        let opts = RunOptions {
            record_calls: true,
            ..RunOptions::default()
        };
        let mut run = LiveRun::start(&sc, &obj, "array_sum", &opts).unwrap();
        assert_eq!(run.load(), "ok");
        assert_eq!(run.attach(), Some("ok"));
        assert_eq!(run.estimated_calls(), 7);
        let mut steps = 0;
        while !run.is_finished() {
            let a = run.advance(1).unwrap();
            assert!(a.calls <= 1);
            steps += 1;
            assert_eq!(run.log().len() as u64, run.calls_done());
        }
        assert_eq!(run.calls_done(), 7);
        assert!(steps >= 7);
        assert!(run.log().get(6).unwrap().is_stop);
        assert_eq!(
            run.advance(5).unwrap(),
            Advance {
                finished: true,
                ..Advance::default()
            }
        );
        let want = run_scenario(&sc, &obj, "array_sum", &opts).unwrap();
        let got = run.into_report().unwrap();
        assert_eq!(got.to_json(), want.to_json());
        // Helper arguments and results that are guest addresses differ from run to run.
        let no_args = |calls: &[CallRecord]| {
            let mut c = calls.to_vec();
            c.iter_mut()
                .flat_map(|r| r.helpers.iter_mut())
                .for_each(|h| {
                    h.args = [0; 5];
                    h.ret = 0;
                });
            c
        };
        assert_eq!(got.calls.len(), 7);
        assert_eq!(no_args(&got.calls), no_args(&want.calls));
    }

    #[test]
    fn a_scenario_without_reads_has_nothing_to_advance() {
        let (mut sc, obj) = example();
        sc.reads[0].read_size = 0;
        // A zero read size is refused when the session opens, as run_scenario refuses it.
        assert!(matches!(
            LiveRun::start(&sc, &obj, "array_sum", &RunOptions::default()),
            Err(Error::Scenario(_))
        ));
        sc.reads.clear();
        let mut run = LiveRun::start(&sc, &obj, "array_sum", &RunOptions::default()).unwrap();
        assert!(run.is_finished());
        assert_eq!(run.estimated_calls(), 0);
        assert!(run.advance(10).unwrap().finished);
        assert!(run.into_report().unwrap().reads.is_empty());
    }
}
