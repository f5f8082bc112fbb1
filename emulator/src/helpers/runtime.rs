//! The per-run state helpers work on, and the helpers themselves.
//!
//! [`World`] owns everything a helper can reach: the maps (the iterated one, the object's own
//! maps and its global-data maps), the `struct bpf_map` models `ctx->map` and `lddw` map
//! references point at, the session's seq_file buffer, the virtual CPU and clocks, and the
//! window onto the running program's stack. The VM moves the world into its thread-local
//! runtime around each execution (see `vm`); each helper here is a plain function of the
//! world and the five argument registers, returning r0 as the kernel's helper would.
//!
//! Guest pointers are checked here: a pointer a helper must read or write is resolved against
//! the stack window, the maps' regions and the models, and a pointer outside all of them is
//! what the kernel's verifier would have refused — the helper then returns `-EFAULT` (or
//! prints an empty string for `%s`, as the kernel does) and the fault is recorded for the
//! user. What the verifier checks statically (argument types, constant sizes) is not
//! re-checked here beyond memory safety.

use crate::elf::core;
use crate::errno::Errno;
use crate::helpers::ids;
use crate::helpers::printf::{self, GuestMem};
use crate::maps::Map;
use crate::mem::{HostWindow, Region};

/// Bytes of the session's seq_file buffer (`PAGE_SIZE << 3`).
pub const SEQ_BUF_SIZE: usize = 32768;

/// Size of one emulated `struct bpf_map` model in guest memory.
pub const MAP_MODEL_SIZE: usize = core::BPF_MAP_MODEL_SIZE;

/// The seq_file buffer of one iterator session, with the kernel's overflow rule: a write
/// that would make the count reach the buffer size marks the file overflowed
/// (`seq_set_overflow`) and writes nothing.
#[derive(Debug)]
pub struct SeqBuf {
    /// Bytes produced in the current fill.
    pub buf: Vec<u8>,
    /// `seq_has_overflowed`.
    pub overflowed: bool,
}

impl Default for SeqBuf {
    fn default() -> Self {
        SeqBuf {
            buf: Vec::with_capacity(SEQ_BUF_SIZE),
            overflowed: false,
        }
    }
}

impl SeqBuf {
    /// `seq_write`: appends `data` if `count + len < size`, else marks overflow.
    pub fn write(&mut self, data: &[u8]) -> Result<(), Errno> {
        if !self.overflowed && self.buf.len() + data.len() < SEQ_BUF_SIZE {
            self.buf.extend_from_slice(data);
            Ok(())
        } else {
            self.overflowed = true;
            Err(Errno::EOVERFLOW)
        }
    }

    /// Truncates back to `len` bytes and clears the overflow mark (the driver's
    /// `seq->count = offs`).
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
        self.overflowed = false;
    }
}

/// One helper call as the user sees it in a call record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelperCall {
    /// Kernel helper id.
    pub id: u32,
    /// r1..r5 as passed.
    pub args: [u64; 5],
    /// r0 as returned.
    pub ret: u64,
}

/// A problem a helper met that the kernel's verifier would have prevented (a bad pointer,
/// an unknown map); reported with the run's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelperFault {
    /// Kernel helper id.
    pub helper: u32,
    /// What was wrong.
    pub what: String,
}

/// Everything helpers can touch during one execution.
#[derive(Debug)]
pub struct World {
    /// Map 0 is the iterated map; then the object's maps; then its global-data maps.
    pub maps: Vec<Map>,
    /// `struct bpf_map` models, [`MAP_MODEL_SIZE`] bytes per map, in `maps` order.
    pub models: Region,
    /// A dummy `struct seq_file` whose address is `meta->seq`.
    pub seq_file: Region,
    /// The session's output buffer.
    pub seq: SeqBuf,
    /// The CPU the program runs on (`bpf_get_smp_processor_id`).
    pub cpu: u32,
    /// Possible CPUs.
    pub ncpus: u32,
    /// State of `bpf_get_prandom_u32`'s generator.
    pub prandom: u64,
    /// Virtual monotonic clock for `bpf_ktime_get_ns`, advanced per read.
    pub ktime_ns: u64,
    /// The running program's stack (set by the stack probe at entry).
    pub stack: Option<HostWindow>,
    /// Address of the bottom of the last execution's 512-byte stack (kept after it returns,
    /// so a cross-check can tell stack pointers among r0 and helper arguments).
    pub stack_base: Option<u64>,
    /// `bpf_trace_printk` output (the kernel's trace_pipe).
    pub trace_pipe: Vec<u8>,
    /// Helper calls of the current execution, when recording.
    pub calls: Option<Vec<HelperCall>>,
    /// The first fault of the current execution.
    pub fault: Option<HelperFault>,
    scratch: Vec<u8>,
    keybuf: Vec<u8>,
}

impl World {
    /// A world over `maps` on `ncpus` CPUs, running on `cpu`.
    pub fn new(maps: Vec<Map>, ncpus: u32, cpu: u32, prandom_seed: u64) -> World {
        let mut world = World {
            models: Region::new(MAP_MODEL_SIZE * maps.len().max(1)),
            maps,
            seq_file: Region::new(64),
            seq: SeqBuf::default(),
            cpu,
            ncpus,
            prandom: prandom_seed | 1,
            ktime_ns: 1_000_000_000,
            stack: None,
            stack_base: None,
            trace_pipe: Vec::new(),
            calls: None,
            fault: None,
            scratch: Vec::with_capacity(1024),
            keybuf: Vec::with_capacity(64),
        };
        world.write_models();
        world
    }

    /// Writes every map's `struct bpf_map` model (id, type, sizes, flags, name).
    pub fn write_models(&mut self) {
        for (i, map) in self.maps.iter().enumerate() {
            let def = map.def();
            let Some(model) = self.models.get_mut(i * MAP_MODEL_SIZE, MAP_MODEL_SIZE) else {
                continue;
            };
            let put = |model: &mut [u8], off: usize, v: u32| {
                model[off..off + 4].copy_from_slice(&v.to_le_bytes());
            };
            put(model, core::BPF_MAP_OFF_ID, i as u32 + 1);
            put(model, core::BPF_MAP_OFF_MAP_TYPE, def.kind.bpf_map_type());
            put(model, core::BPF_MAP_OFF_KEY_SIZE, def.key_size);
            put(model, core::BPF_MAP_OFF_VALUE_SIZE, def.value_size);
            put(model, core::BPF_MAP_OFF_MAX_ENTRIES, def.max_entries);
            put(model, core::BPF_MAP_OFF_MAP_FLAGS, def.flags);
            let name = def.name.as_bytes();
            let n = name.len().min(core::BPF_OBJ_NAME_LEN - 1);
            model[core::BPF_MAP_OFF_NAME..core::BPF_MAP_OFF_NAME + n].copy_from_slice(&name[..n]);
        }
    }

    /// Guest address of map `i`'s model (what `ctx->map` and `lddw` map references hold).
    pub fn model_addr(&self, i: usize) -> u64 {
        self.models.addr() + (i * MAP_MODEL_SIZE) as u64
    }

    /// The map whose model starts at `addr`.
    pub fn map_index(&self, addr: u64) -> Option<usize> {
        let off = addr.checked_sub(self.models.addr())? as usize;
        (off.is_multiple_of(MAP_MODEL_SIZE) && off / MAP_MODEL_SIZE < self.maps.len())
            .then_some(off / MAP_MODEL_SIZE)
    }

    /// Every region a program may hold a pointer into (for the VM's allowed memory).
    pub fn regions(&self) -> Vec<std::ops::Range<u64>> {
        let mut out = vec![self.models.range(), self.seq_file.range()];
        for m in &self.maps {
            out.extend(m.regions().iter().map(|r| r.range()));
        }
        out
    }

    /// `len` guest bytes at `addr` from the stack, the models or a map, if readable.
    pub fn peek(&self, addr: u64, len: usize) -> Option<&[u8]> {
        if let Some(s) = self.stack.as_ref().and_then(|w| w.get(addr, len)) {
            return Some(s);
        }
        if self.models.contains(addr, len) {
            return self.models.get((addr - self.models.addr()) as usize, len);
        }
        self.maps.iter().find_map(|m| m.read_guest(addr, len))
    }

    fn write_guest(&mut self, addr: u64, len: usize) -> Option<&mut [u8]> {
        if let Some(w) = self.stack.as_mut() {
            if w.contains(addr, len) {
                return w.get_mut(addr, len);
            }
        }
        self.maps.iter_mut().find_map(|m| m.write_guest(addr, len))
    }

    fn fault(&mut self, helper: u32, what: impl Into<String>) {
        if self.fault.is_none() {
            self.fault = Some(HelperFault {
                helper,
                what: what.into(),
            });
        }
    }

    /// Copies `len` guest bytes at `addr` into the reusable key buffer.
    fn load_key(&mut self, addr: u64, len: usize) -> Option<Vec<u8>> {
        let mut buf = std::mem::take(&mut self.keybuf);
        buf.clear();
        buf.extend_from_slice(self.peek(addr, len)?);
        Some(buf)
    }

    fn next_prandom(&mut self) -> u32 {
        // xorshift64*: deterministic for a given seed, which a playground wants.
        let mut x = self.prandom;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.prandom = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }
}

struct WorldMem<'a>(&'a World);

impl GuestMem for WorldMem<'_> {
    fn read(&self, addr: u64, len: usize) -> Option<&[u8]> {
        self.0.peek(addr, len)
    }
}

/// Whether this emulator implements helper `id` for iterator programs.
pub fn is_emulated(id: u32) -> bool {
    matches!(
        id,
        ids::BPF_FUNC_MAP_LOOKUP_ELEM
            | ids::BPF_FUNC_MAP_UPDATE_ELEM
            | ids::BPF_FUNC_MAP_DELETE_ELEM
            | ids::BPF_FUNC_KTIME_GET_NS
            | ids::BPF_FUNC_TRACE_PRINTK
            | ids::BPF_FUNC_GET_PRANDOM_U32
            | ids::BPF_FUNC_GET_SMP_PROCESSOR_ID
            | ids::BPF_FUNC_GET_CURRENT_PID_TGID
            | ids::BPF_FUNC_GET_CURRENT_COMM
            | ids::BPF_FUNC_PROBE_READ_KERNEL
            | ids::BPF_FUNC_PROBE_READ_KERNEL_STR
            | ids::BPF_FUNC_KTIME_GET_BOOT_NS
            | ids::BPF_FUNC_SEQ_PRINTF
            | ids::BPF_FUNC_SEQ_WRITE
            | ids::BPF_FUNC_SNPRINTF
            | ids::BPF_FUNC_SK_STORAGE_GET
            | ids::BPF_FUNC_SK_STORAGE_DELETE
    )
}

/// The emulated pid/tgid of the reading task (`cat` in the oracle's runs).
pub const READER_PID: u32 = 4242;
/// The emulated `comm` of the reading task.
pub const READER_COMM: &[u8; 16] = b"iterscope\0\0\0\0\0\0\0";

/// Runs helper `id` on `world`. Unknown ids were refused at load time; reaching one here
/// returns `-EINVAL` and records a fault.
pub fn call(world: &mut World, id: u32, a: [u64; 5]) -> u64 {
    let ret = dispatch(world, id, a);
    if let Some(calls) = world.calls.as_mut() {
        calls.push(HelperCall { id, args: a, ret });
    }
    ret
}

fn neg(e: Errno) -> u64 {
    e.as_helper_ret()
}

fn dispatch(w: &mut World, id: u32, a: [u64; 5]) -> u64 {
    match id {
        ids::BPF_FUNC_MAP_LOOKUP_ELEM => map_lookup(w, a[0], a[1]),
        ids::BPF_FUNC_MAP_UPDATE_ELEM => map_update(w, a[0], a[1], a[2], a[3]),
        ids::BPF_FUNC_MAP_DELETE_ELEM => map_delete(w, a[0], a[1]),
        ids::BPF_FUNC_KTIME_GET_NS | ids::BPF_FUNC_KTIME_GET_BOOT_NS => {
            w.ktime_ns += 250;
            w.ktime_ns
        }
        ids::BPF_FUNC_GET_PRANDOM_U32 => u64::from(w.next_prandom()),
        ids::BPF_FUNC_GET_SMP_PROCESSOR_ID => u64::from(w.cpu),
        ids::BPF_FUNC_GET_CURRENT_PID_TGID => (u64::from(READER_PID) << 32) | u64::from(READER_PID),
        ids::BPF_FUNC_GET_CURRENT_COMM => {
            let size = a[1] as usize;
            match w.write_guest(a[0], size) {
                Some(dst) if size > 0 => {
                    let n = size.min(READER_COMM.len());
                    dst.fill(0);
                    dst[..n].copy_from_slice(&READER_COMM[..n]);
                    dst[n - 1] = 0;
                    0
                }
                _ => {
                    w.fault(
                        id,
                        format!("destination {:#x} size {size} is not writable", a[0]),
                    );
                    neg(Errno::EINVAL)
                }
            }
        }
        ids::BPF_FUNC_PROBE_READ_KERNEL | ids::BPF_FUNC_PROBE_READ_KERNEL_STR => {
            probe_read(w, id, a[0], a[1] as u32 as usize, a[2])
        }
        ids::BPF_FUNC_SEQ_WRITE => seq_write(w, a[0], a[1], a[2] as u32 as usize),
        ids::BPF_FUNC_SEQ_PRINTF => seq_printf(w, a),
        ids::BPF_FUNC_TRACE_PRINTK => trace_printk(w, a),
        ids::BPF_FUNC_SNPRINTF => snprintf(w, a),
        ids::BPF_FUNC_SK_STORAGE_GET => sk_storage_get(w, a),
        ids::BPF_FUNC_SK_STORAGE_DELETE => sk_storage_delete(w, a[0], a[1]),
        _ => {
            w.fault(id, "helper is not emulated");
            neg(Errno::EINVAL)
        }
    }
}

fn map_lookup(w: &mut World, map: u64, key: u64) -> u64 {
    let Some(mi) = w.map_index(map) else {
        w.fault(
            ids::BPF_FUNC_MAP_LOOKUP_ELEM,
            format!("{map:#x} is not a map"),
        );
        return 0;
    };
    let ks = w.maps[mi].def().key_size as usize;
    let Some(k) = w.load_key(key, ks) else {
        w.fault(
            ids::BPF_FUNC_MAP_LOOKUP_ELEM,
            format!("key {key:#x} is not readable"),
        );
        return 0;
    };
    let cpu = w.cpu;
    let r = w.maps[mi].lookup_prog(&k, cpu).unwrap_or(0);
    w.keybuf = k;
    r
}

fn map_update(w: &mut World, map: u64, key: u64, value: u64, flags: u64) -> u64 {
    let id = ids::BPF_FUNC_MAP_UPDATE_ELEM;
    let Some(mi) = w.map_index(map) else {
        w.fault(id, format!("{map:#x} is not a map"));
        return neg(Errno::EINVAL);
    };
    let (ks, vs) = {
        let d = w.maps[mi].def();
        (d.key_size as usize, d.value_size as usize)
    };
    let Some(mut kv) = w.load_key(key, ks) else {
        w.fault(id, format!("key {key:#x} is not readable"));
        return neg(Errno::EFAULT);
    };
    match w.peek(value, vs) {
        Some(v) => kv.extend_from_slice(v),
        None => {
            w.keybuf = kv;
            w.fault(id, format!("value {value:#x} is not readable"));
            return neg(Errno::EFAULT);
        }
    }
    let cpu = w.cpu;
    let r = match w.maps[mi].update_from_prog(&kv[..ks], &kv[ks..], flags, cpu) {
        Ok(()) => 0,
        Err(e) => neg(e),
    };
    w.keybuf = kv;
    r
}

fn map_delete(w: &mut World, map: u64, key: u64) -> u64 {
    let id = ids::BPF_FUNC_MAP_DELETE_ELEM;
    let Some(mi) = w.map_index(map) else {
        w.fault(id, format!("{map:#x} is not a map"));
        return neg(Errno::EINVAL);
    };
    let ks = w.maps[mi].def().key_size as usize;
    let Some(k) = w.load_key(key, ks) else {
        w.fault(id, format!("key {key:#x} is not readable"));
        return neg(Errno::EFAULT);
    };
    let cpu = w.cpu;
    let r = match w.maps[mi].delete(&k, cpu) {
        Ok(()) => 0,
        Err(e) => neg(e),
    };
    w.keybuf = k;
    r
}

/// `BPF_SK_STORAGE_GET_F_CREATE`: `bpf_sk_storage_get` creates the storage when absent.
pub const BPF_SK_STORAGE_GET_F_CREATE: u64 = 1;

/// The map and socket of an sk_storage helper call (`None`: a fault, recorded).
fn sk_storage_args(w: &mut World, id: u32, map: u64, sk: u64) -> Option<(usize, usize)> {
    let Some(mi) = w.map_index(map) else {
        w.fault(id, format!("{map:#x} is not a map"));
        return None;
    };
    // Every sk_storage map of a scenario is built over the same socket table, so a socket
    // image in any of them names the same socket.
    let Some(sock) = w.maps.iter().find_map(|m| m.socket_at(sk)) else {
        w.fault(id, format!("{sk:#x} is not a struct sock"));
        return None;
    };
    Some((mi, sock))
}

/// `bpf_sk_storage_get(map, sk, value, flags)` (the tracing variant iterators get): the
/// socket's value in `map`, or NULL; with `BPF_SK_STORAGE_GET_F_CREATE` an absent value is
/// created from `value` (zeroes when NULL). NULL for a NULL `sk` or unknown flags.
fn sk_storage_get(w: &mut World, a: [u64; 5]) -> u64 {
    let id = ids::BPF_FUNC_SK_STORAGE_GET;
    if a[1] == 0 || a[3] > BPF_SK_STORAGE_GET_F_CREATE {
        return 0;
    }
    let Some((mi, sock)) = sk_storage_args(w, id, a[0], a[1]) else {
        return 0;
    };
    let init = if a[2] == 0 {
        None
    } else {
        let vs = w.maps[mi].def().value_size as usize;
        let Some(v) = w.load_key(a[2], vs) else {
            w.fault(id, format!("value {:#x} is not readable", a[2]));
            return 0;
        };
        Some(v)
    };
    let create = a[3] == BPF_SK_STORAGE_GET_F_CREATE;
    let r = w.maps[mi]
        .sk_storage_get(sock, init.as_deref(), create)
        .unwrap_or(0);
    if let Some(v) = init {
        w.keybuf = v;
    }
    r
}

/// `bpf_sk_storage_delete(map, sk)`: 0, `-ENOENT` without storage, `-EINVAL` for a NULL
/// `sk`.
fn sk_storage_delete(w: &mut World, map: u64, sk: u64) -> u64 {
    let id = ids::BPF_FUNC_SK_STORAGE_DELETE;
    if sk == 0 {
        return neg(Errno::EINVAL);
    }
    let Some((mi, sock)) = sk_storage_args(w, id, map, sk) else {
        return neg(Errno::EINVAL);
    };
    match w.maps[mi].sk_storage_delete(sock) {
        Ok(()) => 0,
        Err(e) => neg(e),
    }
}

fn probe_read(w: &mut World, id: u32, dst: u64, size: usize, src: u64) -> u64 {
    let mut tmp = std::mem::take(&mut w.scratch);
    tmp.clear();
    let ok = if id == ids::BPF_FUNC_PROBE_READ_KERNEL_STR {
        // Copy up to size-1 bytes and a NUL; returns the length including the NUL.
        let mut n = 0;
        while n + 1 < size {
            match w.peek(src + n as u64, 1) {
                Some(&[b]) => {
                    tmp.push(b);
                    n += 1;
                    if b == 0 {
                        break;
                    }
                }
                _ => break,
            }
        }
        if tmp.last() != Some(&0) && size > 0 {
            tmp.push(0);
        }
        size > 0 && (!tmp.is_empty())
    } else {
        match w.peek(src, size) {
            Some(s) => {
                tmp.extend_from_slice(s);
                true
            }
            None => false,
        }
    };
    let ret = match w.write_guest(dst, size) {
        Some(d) if ok => {
            d.fill(0);
            d[..tmp.len()].copy_from_slice(&tmp);
            if id == ids::BPF_FUNC_PROBE_READ_KERNEL_STR {
                tmp.len() as u64
            } else {
                0
            }
        }
        Some(d) => {
            // The kernel zeroes the destination when the source faults.
            d.fill(0);
            neg(Errno::EFAULT)
        }
        None => {
            w.fault(
                id,
                format!("destination {dst:#x} size {size} is not writable"),
            );
            neg(Errno::EFAULT)
        }
    };
    w.scratch = tmp;
    ret
}

fn seq_write(w: &mut World, m: u64, data: u64, len: usize) -> u64 {
    let id = ids::BPF_FUNC_SEQ_WRITE;
    if m != w.seq_file.addr() {
        w.fault(id, format!("{m:#x} is not the session's seq_file"));
        return neg(Errno::EINVAL);
    }
    let mut tmp = std::mem::take(&mut w.scratch);
    tmp.clear();
    let ret = match w.peek(data, len) {
        Some(d) => {
            tmp.extend_from_slice(d);
            match w.seq.write(&tmp) {
                Ok(()) => 0,
                Err(e) => neg(e),
            }
        }
        None => {
            w.fault(id, format!("data {data:#x} size {len} is not readable"));
            neg(Errno::EFAULT)
        }
    };
    w.scratch = tmp;
    ret
}

/// Renders `fmt`/`data` with the kernel grammar into the scratch buffer (taken out of `w`;
/// the caller puts it back).
fn render(
    w: &mut World,
    id: u32,
    fmt: u64,
    fmt_size: u64,
    data: u64,
    data_len: u64,
) -> Result<Vec<u8>, Errno> {
    let nargs = printf::check_data_len(data_len as u32, data == 0)?;
    let mut args = [0u64; 12];
    if nargs > 0 {
        let Some(raw) = w.peek(data, nargs * 8) else {
            w.fault(
                id,
                format!("data {data:#x} size {} is not readable", nargs * 8),
            );
            return Err(Errno::EFAULT);
        };
        for (slot, c) in args.iter_mut().zip(raw.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            *slot = u64::from_le_bytes(b);
        }
    }
    let fmt_size = fmt_size as u32 as usize;
    let mut out = std::mem::take(&mut w.scratch);
    out.clear();
    let Some(fmt_bytes) = w.peek(fmt, fmt_size) else {
        w.scratch = out;
        w.fault(
            id,
            format!("format {fmt:#x} size {fmt_size} is not readable"),
        );
        return Err(Errno::EINVAL);
    };
    match printf::seq_printf(fmt_bytes, &args[..nargs], &WorldMem(w), &mut out) {
        Ok(()) => Ok(out),
        Err(e) => {
            w.scratch = out;
            Err(e)
        }
    }
}

fn seq_printf(w: &mut World, a: [u64; 5]) -> u64 {
    let id = ids::BPF_FUNC_SEQ_PRINTF;
    if a[0] != w.seq_file.addr() {
        w.fault(id, format!("{:#x} is not the session's seq_file", a[0]));
        return neg(Errno::EINVAL);
    }
    match render(w, id, a[1], a[2], a[3], a[4]) {
        Ok(out) => {
            let r = match w.seq.write(&out) {
                Ok(()) => 0,
                Err(e) => neg(e),
            };
            w.scratch = out;
            r
        }
        Err(e) => neg(e),
    }
}

fn trace_printk(w: &mut World, a: [u64; 5]) -> u64 {
    // bpf_trace_printk(fmt, fmt_size, arg1, arg2, arg3): up to three inline arguments.
    let id = ids::BPF_FUNC_TRACE_PRINTK;
    let fmt_size = a[1] as u32 as usize;
    let mut out = std::mem::take(&mut w.scratch);
    out.clear();
    let Some(fmt) = w.peek(a[0], fmt_size) else {
        w.scratch = out;
        w.fault(id, "format is not readable");
        return neg(Errno::EINVAL);
    };
    let args = [a[2], a[3], a[4]];
    // Extra arguments beyond the conversions are ignored by the grammar.
    let r = printf::seq_printf(fmt, &args, &WorldMem(w), &mut out);
    let ret = match r {
        Ok(()) => {
            w.trace_pipe.extend_from_slice(&out);
            out.len() as u64
        }
        Err(e) => neg(e),
    };
    w.scratch = out;
    ret
}

fn snprintf(w: &mut World, a: [u64; 5]) -> u64 {
    // bpf_snprintf(str, str_size, fmt, data, data_len): returns the untruncated length + 1.
    let id = ids::BPF_FUNC_SNPRINTF;
    let fmt = a[2];
    let fmt_size = match w.peek(fmt, 1) {
        Some(_) => {
            // The verifier requires a NUL-terminated constant string; find its size.
            let mut n = 0usize;
            while let Some(&[b]) = w.peek(fmt + n as u64, 1) {
                n += 1;
                if b == 0 || n > 4096 {
                    break;
                }
            }
            n as u64
        }
        None => 0,
    };
    match render(w, id, fmt, fmt_size, a[3], a[4]) {
        Ok(mut out) => {
            let size = a[1] as u32 as usize;
            let total = out.len() + 1;
            let r = match w.write_guest(a[0], size) {
                Some(dst) if size > 0 => {
                    let n = out.len().min(size - 1);
                    dst[..n].copy_from_slice(&out[..n]);
                    dst[n] = 0;
                    total as u64
                }
                Some(_) => total as u64,
                None => {
                    w.fault(id, "destination is not writable");
                    neg(Errno::EFAULT)
                }
            };
            out.clear();
            w.scratch = out;
            r
        }
        Err(e) => neg(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_write_overflows_at_the_buffer_size_exclusive() {
        let mut s = SeqBuf::default();
        assert!(s.write(&[b'x'; 32000]).is_ok());
        assert!(s.write(&[b'x'; 767]).is_ok(), "32767 bytes fit");
        assert_eq!(
            s.write(b"y"),
            Err(Errno::EOVERFLOW),
            "count may never reach the size"
        );
        assert_eq!(s.write(b""), Err(Errno::EOVERFLOW), "overflow is sticky");
        s.truncate(0);
        assert!(s.write(b"z").is_ok());
    }
}
