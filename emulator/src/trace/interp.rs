//! The tracing interpreter: executes a prepared program ([`Code`]) instruction by
//! instruction over the same guest memory and helpers as the rbpf engine, optionally
//! recording every step ([`Recorder`]).
//!
//! Semantics are Linux's (`___bpf_prog_run` and the verifier's rewrites): division by zero
//! gives 0, modulo by zero keeps dst (32-bit: its low half), `INT_MIN / -1` wraps, shifts are
//! masked, immediates of 64-bit compares are sign-extended. It also executes what rbpf cannot:
//! atomics (`BPF_ADD`/`OR`/`AND`/`XOR` with and without `BPF_FETCH`, `BPF_XCHG`,
//! `BPF_CMPXCHG`, 32 and 64 bits) and cpu-v4 instructions (`movsx`, `ldsx`, `sdiv`/`smod`,
//! `bswap`, `gotol`). Where Linux and rbpf agree, it mirrors rbpf closely enough that the two
//! can be compared call by call: memory accesses are allowed where rbpf allows them (the
//! context and the stack fully inside, the world's regions by their start address), frames
//! of bpf-to-bpf calls move `r10` by rbpf's per-function stack usage, and helper calls leave
//! r1–r5 as they were. An instruction budget stops a run that does not end.
//!
//! Not here: the iterator protocol, verification, and disassembly (the caller fills
//! [`Step::insn`] and [`Step::line`] from the object).

use crate::helpers::ids;
use crate::helpers::runtime::{self, World};
use crate::mem::{self, Region};
use crate::vm::{Code, RunError, PROLOGUE_INSNS};

use super::{HelperStep, MemAccess, RegionKind, Step};

/// rbpf's `MAX_CALL_DEPTH`.
const MAX_CALL_DEPTH: usize = 8;

/// The memory one execution may touch: the world's regions, the context and the stack.
#[derive(Debug)]
pub struct Guest<'a> {
    /// Maps, models, seq_file and helpers' state.
    pub world: &'a mut World,
    /// The context (r1 at entry).
    pub ctx: &'a mut Region,
    /// The 512-byte stack (r10 at entry is its end).
    pub stack: &'a mut Region,
}

impl Guest<'_> {
    fn region(&self, addr: u64, size: usize) -> Option<&[u8]> {
        if self.ctx.contains(addr, size) {
            return self.ctx.get((addr - self.ctx.addr()) as usize, size);
        }
        if self.stack.contains(addr, size) {
            return self.stack.get((addr - self.stack.addr()) as usize, size);
        }
        let w = &*self.world;
        for r in [&w.models, &w.seq_file] {
            if r.starts_in(addr) {
                return r.get_padded((addr - r.addr()) as usize, size);
            }
        }
        w.maps.iter().find_map(|m| {
            let (_, r) = m.region_at(addr)?;
            r.get_padded((addr - r.addr()) as usize, size)
        })
    }

    fn region_mut(&mut self, addr: u64, size: usize) -> Option<&mut [u8]> {
        if self.ctx.contains(addr, size) {
            let off = (addr - self.ctx.addr()) as usize;
            return self.ctx.get_mut(off, size);
        }
        if self.stack.contains(addr, size) {
            let off = (addr - self.stack.addr()) as usize;
            return self.stack.get_mut(off, size);
        }
        let w = &mut *self.world;
        for r in [&mut w.models, &mut w.seq_file] {
            if r.starts_in(addr) {
                let off = (addr - r.addr()) as usize;
                return r.get_padded_mut(off, size);
            }
        }
        w.maps.iter_mut().find_map(|m| {
            let r = m.region_at_mut(addr)?;
            let off = (addr - r.addr()) as usize;
            r.get_padded_mut(off, size)
        })
    }

    /// Loads `size` bytes at `addr`, zero-extended; `None` where rbpf would refuse.
    pub fn load(&self, addr: u64, size: usize) -> Option<u64> {
        let b = self.region(addr, size)?;
        let mut v = [0u8; 8];
        v[..size].copy_from_slice(b);
        Some(u64::from_le_bytes(v))
    }

    /// Stores the low `size` bytes of `value` at `addr`; `None` where rbpf would refuse.
    pub fn store(&mut self, addr: u64, size: usize, value: u64) -> Option<()> {
        let b = self.region_mut(addr, size)?;
        b.copy_from_slice(&value.to_le_bytes()[..size]);
        Some(())
    }
}

/// Names the region of a guest address for [`MemAccess`]: key and value of the element
/// first, then the context, stack, global data, maps, anything else.
#[derive(Debug, Clone, Default)]
pub struct Classifier {
    /// `(start, len, kind)`, searched in order.
    ranges: Vec<(u64, u64, RegionKind)>,
}

impl Classifier {
    /// A classifier for one call of a machine whose world is `w`, context `ctx`, stack
    /// `stack`, element `key`/`value` (`(addr, len)`, None on the stop call) and whose last
    /// `globals.len()` maps hold the global data sections named in `globals`.
    pub fn new(
        w: &World,
        ctx: &Region,
        stack: &Region,
        key: Option<(u64, usize)>,
        value: Option<(u64, usize)>,
        globals: &[String],
    ) -> Classifier {
        let mut ranges = Vec::new();
        if let Some((a, n)) = key {
            ranges.push((a, n as u64, RegionKind::Key));
        }
        if let Some((a, n)) = value {
            ranges.push((a, n as u64, RegionKind::Value));
        }
        ranges.push((ctx.addr(), ctx.len() as u64, RegionKind::Ctx));
        ranges.push((stack.addr(), stack.len() as u64, RegionKind::Stack));
        let first_global = w.maps.len().saturating_sub(globals.len());
        for (i, m) in w.maps.iter().enumerate() {
            let kind = match i.checked_sub(first_global).and_then(|g| globals.get(g)) {
                Some(section) => RegionKind::Global(section.clone()),
                None => RegionKind::Map(m.def().name.clone()),
            };
            for r in m.regions() {
                ranges.push((r.addr(), r.len() as u64, kind.clone()));
            }
        }
        for r in [&w.models, &w.seq_file] {
            ranges.push((r.addr(), r.len() as u64, RegionKind::Other));
        }
        Classifier { ranges }
    }

    /// The region of `addr` and the offset from its start.
    pub fn classify(&self, addr: u64) -> (RegionKind, u64) {
        self.ranges
            .iter()
            .find(|(s, n, _)| addr >= *s && addr - s < *n)
            .map_or((RegionKind::Other, 0), |(s, _, k)| (k.clone(), addr - s))
    }
}

/// Records the steps of one execution, up to a cap.
#[derive(Debug)]
pub struct Recorder {
    /// Steps recorded so far (`insn` and `line` left empty).
    pub steps: Vec<Step>,
    /// Steps beyond `max_steps` were dropped.
    pub truncated: bool,
    max_steps: usize,
    classifier: Classifier,
    mem: Vec<MemAccess>,
    helper: Option<HelperStep>,
}

impl Recorder {
    /// A recorder keeping at most `max_steps` steps.
    pub fn new(max_steps: usize, classifier: Classifier) -> Recorder {
        Recorder {
            steps: Vec::new(),
            truncated: false,
            max_steps,
            classifier,
            mem: Vec::new(),
            helper: None,
        }
    }

    fn access(&mut self, write: bool, addr: u64, size: usize, value: u64) {
        let (region, offset) = self.classifier.classify(addr);
        self.mem.push(MemAccess {
            write,
            region,
            addr,
            offset,
            size: size as u8,
            value,
        });
    }

    fn finish_step(&mut self, pc: usize, regs_before: [u64; 11], regs: [u64; 11]) {
        let mem = std::mem::take(&mut self.mem);
        let helper = self.helper.take();
        if self.steps.len() >= self.max_steps {
            self.truncated = true;
            return;
        }
        self.steps.push(Step {
            pc,
            insn: String::new(),
            regs_before,
            regs,
            mem,
            helper,
            line: None,
        });
    }
}

/// The result of one execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exec {
    /// r0, or why the run stopped.
    pub result: Result<u64, RunError>,
    /// Instructions executed (the prologue not counted).
    pub insns: u64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Frame {
    saved: [u64; 4],
    ret: usize,
    usage: u16,
}

#[cold]
fn oob(pc: usize, write: bool, addr: u64, size: usize) -> RunError {
    RunError::OutOfBounds {
        insn: pc,
        access: if write { "store" } else { "load" }.into(),
        addr,
        size: size as u64,
    }
}

fn size_of(op: u8) -> usize {
    match op & 0x18 {
        0x00 => 4,
        0x08 => 2,
        0x10 => 1,
        _ => 8,
    }
}

/// Sign-extends the low `bits` bits of `v`.
pub fn sext(v: u64, bits: u32) -> u64 {
    let s = 64 - bits;
    (((v << s) as i64) >> s) as u64
}

/// A 64-bit ALU operation with Linux's semantics (`code` is `op & 0xf0`, `off` selects the
/// signed division and sign-extending move of cpu v4).
pub fn alu64(code: u8, off: i16, dst: u64, src: u64) -> u64 {
    match code {
        0x00 => dst.wrapping_add(src),
        0x10 => dst.wrapping_sub(src),
        0x20 => dst.wrapping_mul(src),
        0x30 if src == 0 => 0,
        0x30 if off == 1 => (dst as i64).wrapping_div(src as i64) as u64,
        0x30 => dst / src,
        0x40 => dst | src,
        0x50 => dst & src,
        0x60 => dst << (src & 63),
        0x70 => dst >> (src & 63),
        0x80 => dst.wrapping_neg(),
        0x90 if src == 0 => dst,
        0x90 if off == 1 => (dst as i64).wrapping_rem(src as i64) as u64,
        0x90 => dst % src,
        0xa0 => dst ^ src,
        0xb0 if matches!(off, 8 | 16 | 32) => sext(src, off as u32),
        0xb0 => src,
        0xc0 => ((dst as i64) >> (src & 63)) as u64,
        _ => dst,
    }
}

/// A 32-bit ALU operation with Linux's semantics; the result is zero-extended.
pub fn alu32(code: u8, off: i16, dst: u64, src: u64) -> u64 {
    let (d, s) = (dst as u32, src as u32);
    let r: u32 = match code {
        0x00 => d.wrapping_add(s),
        0x10 => d.wrapping_sub(s),
        0x20 => d.wrapping_mul(s),
        0x30 if s == 0 => 0,
        0x30 if off == 1 => (d as i32).wrapping_div(s as i32) as u32,
        0x30 => d / s,
        0x40 => d | s,
        0x50 => d & s,
        0x60 => d << (s & 31),
        0x70 => d >> (s & 31),
        0x80 => d.wrapping_neg(),
        0x90 if s == 0 => d,
        0x90 if off == 1 => (d as i32).wrapping_rem(s as i32) as u32,
        0x90 => d % s,
        0xa0 => d ^ s,
        0xb0 if matches!(off, 8 | 16) => sext(u64::from(s), off as u32) as u32,
        0xb0 => s,
        0xc0 => ((d as i32) >> (s & 31)) as u32,
        _ => d,
    };
    u64::from(r)
}

/// `BPF_END`: `to_le` (class ALU, source bit clear), `to_be` (source bit set) or the
/// unconditional `bswap` of cpu v4 (class ALU64), over `width` bits; zero-extended.
pub fn endian(op: u8, width: i32, v: u64) -> u64 {
    let swap = op & 0x07 == 0x07 || op & 0x08 != 0;
    match (width, swap) {
        (16, false) => v & 0xffff,
        (32, false) => v & 0xffff_ffff,
        (16, true) => u64::from((v as u16).swap_bytes()),
        (32, true) => u64::from((v as u32).swap_bytes()),
        (_, true) => v.swap_bytes(),
        _ => v,
    }
}

/// Whether a conditional jump is taken (`code` is `op & 0xf0`; for JMP32 the operands are
/// the low halves).
pub fn cond(code: u8, is32: bool, a: u64, b: u64) -> bool {
    let (a, b, sa, sb) = if is32 {
        let (x, y) = (a as u32, b as u32);
        (
            u64::from(x),
            u64::from(y),
            i64::from(x as i32),
            i64::from(y as i32),
        )
    } else {
        (a, b, a as i64, b as i64)
    };
    match code {
        0x10 => a == b,
        0x20 => a > b,
        0x30 => a >= b,
        0x40 => a & b != 0,
        0x50 => a != b,
        0x60 => sa > sb,
        0x70 => sa >= sb,
        0xa0 => a < b,
        0xb0 => a <= b,
        0xc0 => sa < sb,
        0xd0 => sa <= sb,
        _ => false,
    }
}

/// The memory result of an atomic read-modify-write: `(new memory value, whether memory is
/// written, the value the fetching register gets)`.
pub fn atomic(imm: i32, size: usize, old: u64, src: u64, r0: u64) -> (u64, bool, u64) {
    let mask = if size == 4 { 0xffff_ffff } else { u64::MAX };
    let (old, src) = (old & mask, src & mask);
    match imm & !1 {
        0x00 => (old.wrapping_add(src) & mask, true, old),
        0x40 => (old | src, true, old),
        0x50 => (old & src, true, old),
        0xa0 => (old ^ src, true, old),
        0xe0 => (src, true, old),
        // cmpxchg: compare with r0 (its low half for 32 bits); r0 gets the old value
        _ => {
            let hit = old == r0 & mask;
            (if hit { src } else { old }, hit, old)
        }
    }
}

/// Runs `code` with r1 = the context over `g`, at most `budget` instructions, recording
/// steps into `rec` when given.
pub fn run(code: &Code, g: &mut Guest<'_>, budget: u64, mut rec: Option<&mut Recorder>) -> Exec {
    g.stack.bytes_mut().fill(0);
    g.world.stack = Some(mem::region_window(g.stack));
    g.world.stack_base = Some(g.stack.addr());
    let mut insns = 0u64;
    let result = execute(code, g, budget, &mut rec, &mut insns);
    g.world.stack = None;
    Exec { result, insns }
}

fn insn_at(bytes: &[u8], pc: usize) -> Option<[u8; 8]> {
    let s = bytes.get(pc * 8..pc * 8 + 8)?;
    let mut b = [0u8; 8];
    b.copy_from_slice(s);
    Some(b)
}

#[allow(
    clippy::too_many_lines,
    reason = "one match over the instruction set, like the kernel's interpreter"
)]
fn execute(
    code: &Code,
    g: &mut Guest<'_>,
    budget: u64,
    rec: &mut Option<&mut Recorder>,
    insns: &mut u64,
) -> Result<u64, RunError> {
    let bytes = code.bytes();
    let mut reg = [0u64; 11];
    reg[1] = g.ctx.addr();
    reg[10] = g.stack.addr() + g.stack.len() as u64;
    let mut frames = [Frame::default(); MAX_CALL_DEPTH + 1];
    let mut depth = 0usize;
    // The prologue only tells rbpf's helpers where its stack is; the tracer set the window.
    let mut pc = PROLOGUE_INSNS;
    if let Some(u) = code.stack_usage_at(0) {
        frames[0].usage = u;
    }
    loop {
        let ppc = pc.wrapping_sub(PROLOGUE_INSNS);
        let Some(b) = insn_at(bytes, pc) else {
            return Err(RunError::Invalid {
                insn: ppc,
                what: "execution ran off the end of the program".into(),
            });
        };
        if *insns >= budget {
            return Err(RunError::Budget {
                limit: budget,
                insn: ppc,
            });
        }
        *insns += 1;
        if depth < MAX_CALL_DEPTH {
            if let Some(u) = code.stack_usage_at(pc) {
                frames[depth].usage = u;
            }
        }
        let before = reg;
        let op = b[0];
        let dst = (b[1] & 0x0f) as usize;
        let src = (b[1] >> 4) as usize;
        if dst > 10 || src > 10 {
            return Err(RunError::Invalid {
                insn: ppc,
                what: "register number above 10".into(),
            });
        }
        let off = i16::from_le_bytes([b[2], b[3]]);
        let imm = i32::from_le_bytes([b[4], b[5], b[6], b[7]]);
        let mut next = pc + 1;
        let mut exit = None;
        match op & 0x07 {
            0x00 => {
                let hi = insn_at(bytes, pc + 1).map_or(0, |n| {
                    u64::from(u32::from_le_bytes([n[4], n[5], n[6], n[7]]))
                });
                reg[dst] = (hi << 32) | u64::from(imm as u32);
                next = pc + 2;
            }
            0x01 => {
                let size = size_of(op);
                let addr = reg[src].wrapping_add(i64::from(off) as u64);
                let v = g
                    .load(addr, size)
                    .ok_or_else(|| oob(ppc, false, addr, size))?;
                if let Some(r) = rec.as_deref_mut() {
                    r.access(false, addr, size, v);
                }
                reg[dst] = if op & 0xe0 == 0x80 {
                    sext(v, size as u32 * 8)
                } else {
                    v
                };
            }
            0x02 | 0x03 => {
                let size = size_of(op);
                let addr = reg[dst].wrapping_add(i64::from(off) as u64);
                if op & 0xe0 == 0xc0 {
                    let old = g
                        .load(addr, size)
                        .ok_or_else(|| oob(ppc, false, addr, size))?;
                    let (new, write, fetched) = atomic(imm, size, old, reg[src], reg[0]);
                    if let Some(r) = rec.as_deref_mut() {
                        r.access(false, addr, size, old);
                    }
                    if write {
                        g.store(addr, size, new)
                            .ok_or_else(|| oob(ppc, true, addr, size))?;
                        if let Some(r) = rec.as_deref_mut() {
                            r.access(true, addr, size, new);
                        }
                    }
                    if imm == 0xf1 {
                        reg[0] = fetched;
                    } else if imm & 1 != 0 {
                        reg[src] = fetched;
                    }
                } else {
                    let v = if op & 0x07 == 0x02 {
                        i64::from(imm) as u64
                    } else {
                        reg[src]
                    };
                    let v = if size == 8 {
                        v
                    } else {
                        v & ((1u64 << (size * 8)) - 1)
                    };
                    g.store(addr, size, v)
                        .ok_or_else(|| oob(ppc, true, addr, size))?;
                    if let Some(r) = rec.as_deref_mut() {
                        r.access(true, addr, size, v);
                    }
                }
            }
            class @ (0x04 | 0x07) => {
                let code = op & 0xf0;
                let x = op & 0x08 != 0;
                if code == 0xd0 {
                    reg[dst] = endian(op, imm, reg[dst]);
                } else {
                    let is64 = class == 0x07;
                    let s = if x {
                        reg[src]
                    } else if is64 {
                        i64::from(imm) as u64
                    } else {
                        u64::from(imm as u32)
                    };
                    // movsx is the only mov with an offset, and only from a register
                    let off = if code == 0xb0 && !x { 0 } else { off };
                    reg[dst] = if is64 {
                        alu64(code, off, reg[dst], s)
                    } else {
                        alu32(code, off, reg[dst], s)
                    };
                }
            }
            class => {
                let code = op & 0xf0;
                let is32 = class == 0x06;
                match code {
                    0x00 => {
                        let delta = if is32 { i64::from(imm) } else { i64::from(off) };
                        next = (pc as i64 + 1 + delta) as usize;
                    }
                    0x80 if src == 0 => {
                        let id = imm as u32;
                        let args = [reg[1], reg[2], reg[3], reg[4], reg[5]];
                        reg[0] = runtime::call(g.world, id, args);
                        if let Some(r) = rec.as_deref_mut() {
                            r.helper = Some(HelperStep {
                                id,
                                name: ids::helper_name(id).unwrap_or("unknown").to_string(),
                                args,
                                ret: reg[0],
                            });
                        }
                    }
                    0x80 => {
                        if depth >= MAX_CALL_DEPTH {
                            return Err(RunError::Engine {
                                message: format!(
                                    "too many nested calls (max: {MAX_CALL_DEPTH}) (insn #{ppc})"
                                ),
                            });
                        }
                        frames[depth].saved.copy_from_slice(&reg[6..=9]);
                        frames[depth].ret = pc + 1;
                        reg[10] = reg[10].wrapping_sub(u64::from(frames[depth].usage));
                        depth += 1;
                        next = (pc as i64 + 1 + i64::from(imm)) as usize;
                    }
                    0x90 => {
                        if depth == 0 {
                            exit = Some(reg[0]);
                        } else {
                            depth -= 1;
                            reg[6..=9].copy_from_slice(&frames[depth].saved);
                            next = frames[depth].ret;
                            reg[10] = reg[10].wrapping_add(u64::from(frames[depth].usage));
                        }
                    }
                    _ => {
                        let b = if op & 0x08 != 0 {
                            reg[src]
                        } else if is32 {
                            u64::from(imm as u32)
                        } else {
                            i64::from(imm) as u64
                        };
                        if cond(code, is32, reg[dst], b) {
                            next = (pc as i64 + 1 + i64::from(off)) as usize;
                        }
                    }
                }
            }
        }
        if let Some(r) = rec.as_deref_mut() {
            r.finish_step(ppc, before, reg);
        }
        if let Some(r0) = exit {
            return Ok(r0);
        }
        pc = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insn(op: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
        let o = off.to_le_bytes();
        let i = imm.to_le_bytes();
        [op, dst | (src << 4), o[0], o[1], i[0], i[1], i[2], i[3]]
    }

    /// Runs `prog` on the tracer with an empty world; r0 and the recorded steps.
    fn exec(prog: &[[u8; 8]], budget: u64) -> (Result<u64, RunError>, Vec<Step>) {
        let code = Code::prepare(&prog.concat(), &[]).unwrap();
        let mut world = World::new(Vec::new(), 1, 0, 1);
        let mut ctx = Region::new(64);
        let mut stack = Region::new(512);
        let classifier = Classifier::new(&world, &ctx, &stack, None, None, &[]);
        let mut rec = Recorder::new(1000, classifier);
        let mut g = Guest {
            world: &mut world,
            ctx: &mut ctx,
            stack: &mut stack,
        };
        let e = run(&code, &mut g, budget, Some(&mut rec));
        (e.result, rec.steps)
    }

    #[test]
    fn runs_atomics_and_cpu_v4_on_the_stack() {
        let (r, steps) = exec(
            &[
                insn(0x7a, 10, 0, -8, 40),   // *(u64 *)(r10 -8) = 40
                insn(0xb7, 1, 0, 0, 2),      // r1 = 2
                insn(0xdb, 10, 1, -8, 0x01), // r1 = atomic64_fetch_add(fp-8, r1)
                insn(0xb7, 0, 0, 0, 42),     // r0 = 42
                insn(0xb7, 2, 0, 0, 7),      // r2 = 7
                insn(0xdb, 10, 2, -8, 0xf1), // r0 = cmpxchg(fp-8, r0 == 42 ? r2)
                insn(0x79, 3, 10, -8, 0),    // r3 = *(u64 *)(r10 -8)  (7)
                insn(0x72, 10, 0, -16, -3),  // *(u8 *)(r10 -16) = -3
                insn(0x91, 4, 10, -16, 0),   // r4 = *(s8 *)(r10 -16)  (-3)
                insn(0x06, 0, 0, 0, 1),      // gotol +1
                insn(0xb7, 4, 0, 0, 0),      // (skipped)
                insn(0xd7, 3, 0, 0, 16),     // r3 = bswap16 r3  (0x0700)
                insn(0x3f, 4, 1, 1, 0),      // r4 s/= r1  (-3 / 40 = 0)
                insn(0x0f, 0, 3, 0, 0),      // r0 += r3
                insn(0x0f, 0, 1, 0, 0),      // r0 += r1
                insn(0x0f, 0, 4, 0, 0),      // r0 += r4
                insn(0x95, 0, 0, 0, 0),
            ],
            1000,
        );
        // r0 = old value 42 from cmpxchg, + 0x700, + 40 fetched, + 0
        assert_eq!(r, Ok(42 + 0x700 + 40));
        assert!(steps.iter().all(|s| s.pc != 10), "gotol skipped insn 10");
        let cmpxchg = &steps[5];
        assert_eq!(cmpxchg.mem.len(), 2);
        assert_eq!(cmpxchg.mem[0].region, RegionKind::Stack);
        assert_eq!(cmpxchg.mem[0].offset, 504);
        assert_eq!((cmpxchg.mem[1].write, cmpxchg.mem[1].value), (true, 7));
    }

    #[test]
    fn the_budget_stops_an_endless_loop() {
        let (r, steps) = exec(&[insn(0x05, 0, 0, -1, 0), insn(0x95, 0, 0, 0, 0)], 500);
        assert_eq!(
            r,
            Err(RunError::Budget {
                limit: 500,
                insn: 0
            })
        );
        assert_eq!(steps.len(), 500);
    }

    #[test]
    fn division_and_modulo_follow_linux() {
        // unsigned and signed division by zero give 0
        assert_eq!(alu64(0x30, 0, 7, 0), 0);
        assert_eq!(alu64(0x30, 1, 7, 0), 0);
        assert_eq!(alu32(0x30, 0, u64::MAX, 0), 0);
        // modulo by zero keeps dst; 32-bit keeps only its low half
        assert_eq!(alu64(0x90, 0, 0x1_0000_0007, 0), 0x1_0000_0007);
        assert_eq!(alu32(0x90, 0, 0x1_0000_0007, 0), 7);
        assert_eq!(alu32(0x90, 1, 0xffff_ffff_ffff_fff9, 0), 0xffff_fff9);
        // signed division and modulo
        assert_eq!(alu64(0x30, 1, (-7i64) as u64, 2), (-3i64) as u64);
        assert_eq!(alu64(0x90, 1, (-7i64) as u64, 2), (-1i64) as u64);
        assert_eq!(alu32(0x30, 1, u64::from((-7i32) as u32), 2), 0xffff_fffd);
        // INT_MIN / -1 wraps, INT_MIN % -1 is 0 (the verifier's rewrite)
        assert_eq!(alu64(0x30, 1, 1 << 63, u64::MAX), 1 << 63);
        assert_eq!(alu64(0x90, 1, 1 << 63, u64::MAX), 0);
        assert_eq!(alu32(0x30, 1, 0x8000_0000, 0xffff_ffff), 0x8000_0000);
        // unsigned division of a "negative" value
        assert_eq!(alu64(0x30, 0, u64::MAX, 2), u64::MAX / 2);
    }

    #[test]
    fn shifts_are_masked_and_32_bit_results_zero_extended() {
        assert_eq!(alu64(0x60, 0, 1, 65), 2);
        assert_eq!(alu32(0x60, 0, 1, 33), 2);
        assert_eq!(alu32(0xc0, 0, 0x8000_0000, 4), 0xf800_0000);
        assert_eq!(alu64(0xc0, 0, 1 << 63, 63), u64::MAX);
        assert_eq!(alu32(0x00, 0, u64::MAX, 1), 0);
        assert_eq!(alu32(0x80, 0, 1, 0), 0xffff_ffff);
    }

    #[test]
    fn sign_extending_moves_and_loads() {
        assert_eq!(alu64(0xb0, 8, 0, 0x80), u64::MAX - 0x7f);
        assert_eq!(alu64(0xb0, 16, 0, 0x7fff), 0x7fff);
        assert_eq!(alu64(0xb0, 32, 0, 0xffff_ffff), u64::MAX);
        assert_eq!(alu32(0xb0, 8, 0, 0xff), 0xffff_ffff);
        assert_eq!(alu32(0xb0, 16, 0, 0x1_8000), 0xffff_8000);
        assert_eq!(sext(0xfe, 8), (-2i64) as u64);
    }

    #[test]
    fn byte_swaps() {
        assert_eq!(endian(0xd4, 16, 0x1234_5678), 0x5678, "le16 truncates");
        assert_eq!(endian(0xdc, 16, 0x1234_5678), 0x7856, "be16 swaps");
        assert_eq!(endian(0xdc, 32, 0x1122_3344_5566_7788), 0x8877_6655);
        assert_eq!(endian(0xd7, 16, 0x1234), 0x3412, "bswap16");
        assert_eq!(
            endian(0xd7, 64, 0x0102_0304_0506_0708),
            0x0807_0605_0403_0201
        );
    }

    #[test]
    fn compares_sign_extend_64_bit_immediates_and_use_low_halves_for_jmp32() {
        assert!(cond(0x10, false, u64::MAX, u64::MAX));
        assert!(cond(0x10, true, 0xdead_0000_ffff_ffff, 0xffff_ffff));
        assert!(cond(0x60, true, 1, 0xffff_ffff), "jsgt32: 1 > -1");
        assert!(!cond(0x20, true, 1, 0xffff_ffff));
        assert!(cond(0xd0, false, (-5i64) as u64, 3));
    }

    #[test]
    fn atomics_fetch_the_old_value() {
        // lock += (fetch): memory old+src, register gets old
        assert_eq!(atomic(0x01, 8, 5, 3, 0), (8, true, 5));
        // 32-bit add wraps in 32 bits
        assert_eq!(atomic(0x00, 4, 0xffff_ffff, 1, 0), (0, true, 0xffff_ffff));
        assert_eq!(atomic(0x41, 8, 0b1010, 0b0101, 0), (0b1111, true, 0b1010));
        assert_eq!(atomic(0x51, 8, 0b1110, 0b0111, 0), (0b0110, true, 0b1110));
        assert_eq!(atomic(0xa1, 8, 0b1110, 0b0111, 0), (0b1001, true, 0b1110));
        assert_eq!(atomic(0xe1, 8, 9, 4, 0), (4, true, 9));
        // cmpxchg: exchanges only on a match with r0, r0 gets the old value
        assert_eq!(atomic(0xf1, 8, 9, 4, 9), (4, true, 9));
        assert_eq!(atomic(0xf1, 8, 9, 4, 8), (9, false, 9));
        assert_eq!(atomic(0xf1, 4, 9, 4, 0xffff_0000_0000_0009), (4, true, 9));
    }
}
