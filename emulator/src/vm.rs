//! The engine: programs run on rbpf 0.4.1's interpreter.
//!
//! [`Code`] is a loaded program made ready for rbpf: `lddw` map and global references
//! relocated to guest addresses (rbpf ignores `lddw`'s `src_reg`), every instruction checked
//! for what rbpf can execute, and a two-instruction prologue (`r2 = r10; call <probe>`)
//! prepended so helpers learn where rbpf's per-execution stack is. [`Vm`] wraps an
//! `EbpfVmRaw` with the emulated helpers registered and every guest region registered once
//! as allowed memory; [`Vm::run`] moves the [`World`] into the thread-local runtime the
//! helpers (plain `fn` pointers) reach it through, executes, and takes it back.
//!
//! Instructions rbpf cannot execute — atomics, cpu-v4 instructions, backward bpf-to-bpf
//! calls, and the few it executes differently from Linux (unsigned 64-bit compares with a
//! negative immediate, which rbpf zero-extends; 32-bit modulo by a zero register, after
//! which rbpf keeps the upper half) — do not make [`Code::prepare`] fail: they mark the
//! program [`Code::needs_tracer`], and the iterator driver runs it on the tracing
//! interpreter (`trace::interp`) instead.
//!
//! Not here: verification (rbpf's own structural check only; the kernel-faithful verifier is
//! separate), instruction budgets (rbpf has none: the CLI runs with a wall-clock timeout;
//! the tracing interpreter has one).

use std::cell::RefCell;
use std::ops::Range;

use thiserror::Error;

use crate::helpers::ids;
use crate::helpers::runtime::{self, World};

/// Helper id of the stack probe (not a kernel helper; refused anywhere but the prologue).
const PROBE_ID: u32 = 0x7fff_fff0;
/// Instructions the prologue adds before the program's first one.
pub const PROLOGUE_INSNS: usize = 2;
/// rbpf 0.4.1 computes jump targets in `i16`, so longer programs cannot run on it.
pub const MAX_RBPF_INSNS: usize = 32767 - PROLOGUE_INSNS;

/// Why a program cannot be prepared for, or failed inside, the engine.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RunError {
    /// An instruction the rbpf interpreter cannot execute.
    #[error("instruction {insn} ({what}) is not supported by the rbpf engine")]
    Unsupported {
        /// Instruction index in the program.
        insn: usize,
        /// What the instruction is.
        what: String,
    },
    /// A malformed instruction.
    #[error("invalid instruction {insn}: {what}")]
    Invalid {
        /// Instruction index in the program.
        insn: usize,
        /// What is wrong.
        what: String,
    },
    /// A call to a helper this emulator does not provide.
    #[error("helper {name}#{id} at instruction {insn} is not emulated")]
    UnknownHelper {
        /// Instruction index in the program.
        insn: usize,
        /// Helper id.
        id: u32,
        /// Kernel name, or `unknown`.
        name: String,
    },
    /// The program is longer than rbpf can run.
    #[error("program has {insns} instructions; the rbpf engine runs at most {MAX_RBPF_INSNS}")]
    TooLong {
        /// Instruction count.
        insns: usize,
    },
    /// A load or store outside every region the program may touch (what the verifier
    /// would have refused).
    #[error("out of bounds memory {access} at instruction {insn}: address {addr:#x}, size {size}")]
    OutOfBounds {
        /// Instruction index in the program.
        insn: usize,
        /// `load` or `store`.
        access: String,
        /// Guest address.
        addr: u64,
        /// Access size in bytes.
        size: u64,
    },
    /// The tracing interpreter's instruction budget ran out (a loop that does not end, which
    /// the verifier would have refused).
    #[error("instruction budget of {limit} exhausted at instruction {insn}")]
    Budget {
        /// The budget.
        limit: u64,
        /// Instruction index in the program where the run stopped.
        insn: usize,
    },
    /// rbpf stopped the program (a call too deep, ...).
    #[error("engine error: {message}")]
    Engine {
        /// rbpf's message, instruction numbers given in program terms.
        message: String,
    },
}

/// A program ready for rbpf: relocated, checked, with the stack-probe prologue.
#[derive(Debug, Clone)]
pub struct Code {
    bytes: Vec<u8>,
    needs_tracer: bool,
    /// rbpf's per-function stack usage table, keyed by instruction (prologue included).
    func_usage: Vec<(usize, u16)>,
}

/// One `lddw` to patch with a guest address (instruction index of its first slot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patch {
    /// Index of the `lddw`'s first slot.
    pub insn: usize,
    /// The 64-bit value to load.
    pub value: u64,
}

fn insn_at(bytes: &[u8], i: usize) -> [u8; 8] {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
    b
}

impl Code {
    /// Prepares `insns` (raw 8-byte instructions) with `patches` applied.
    pub fn prepare(insns: &[u8], patches: &[Patch]) -> Result<Code, RunError> {
        if !insns.len().is_multiple_of(8) || insns.is_empty() {
            return Err(RunError::Invalid {
                insn: insns.len() / 8,
                what: format!(
                    "program size {} is not a non-zero multiple of 8",
                    insns.len()
                ),
            });
        }
        let n = insns.len() / 8;
        if n > MAX_RBPF_INSNS {
            return Err(RunError::TooLong { insns: n });
        }
        let mut prog = insns.to_vec();
        for p in patches {
            if p.insn + 1 >= n || prog[p.insn * 8] != 0x18 {
                return Err(RunError::Invalid {
                    insn: p.insn,
                    what: "relocation does not target an lddw".into(),
                });
            }
            let lo = (p.value as u32).to_le_bytes();
            let hi = ((p.value >> 32) as u32).to_le_bytes();
            prog[p.insn * 8 + 1] &= 0x0f; // src_reg = 0: a plain 64-bit immediate
            prog[p.insn * 8 + 4..p.insn * 8 + 8].copy_from_slice(&lo);
            prog[(p.insn + 1) * 8 + 4..(p.insn + 1) * 8 + 8].copy_from_slice(&hi);
        }
        let needs_tracer = check_insns(&prog)?;
        let mut bytes = Vec::with_capacity(prog.len() + PROLOGUE_INSNS * 8);
        bytes.extend_from_slice(&[0xbf, 0xa2, 0, 0, 0, 0, 0, 0]); // r2 = r10
        let calls_helpers = prog
            .chunks_exact(8)
            .any(|i| i[0] == 0x85 && (i[1] >> 4) == 0);
        if calls_helpers {
            bytes.extend_from_slice(&[0x85, 0, 0, 0]);
            bytes.extend_from_slice(&PROBE_ID.to_le_bytes()); // call probe
        } else {
            // No helper will ever need the stack: skip the probe's cost per execution.
            bytes.extend_from_slice(&[0x05, 0, 0, 0, 0, 0, 0, 0]); // goto pc+0
        }
        bytes.extend_from_slice(&prog);
        let func_usage = rbpf_stack_table(&bytes);
        Ok(Code {
            bytes,
            needs_tracer,
            func_usage,
        })
    }

    /// Whether the program has instructions rbpf cannot execute (or executes unlike Linux),
    /// so that it runs on the tracing interpreter.
    pub fn needs_tracer(&self) -> bool {
        self.needs_tracer
    }

    /// The instructions as rbpf runs them: the prologue, then the relocated program.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// rbpf's stack usage of the function starting at `pc` (prologue numbering), if rbpf
    /// records one there.
    pub fn stack_usage_at(&self, pc: usize) -> Option<u16> {
        self.func_usage
            .binary_search_by_key(&pc, |e| e.0)
            .ok()
            .map(|i| self.func_usage[i].1)
    }

    /// Builds a VM for this code that may touch `regions` (besides the context and stack).
    pub fn vm(&self, regions: &[Range<u64>]) -> Result<Vm<'_>, RunError> {
        if self.needs_tracer {
            return Err(RunError::Unsupported {
                insn: 0,
                what: "a program that needs the tracing interpreter".into(),
            });
        }
        let mut vm = rbpf::EbpfVmRaw::new(Some(&self.bytes)).map_err(engine_error)?;
        vm.set_stack_usage_calculator(stack_usage, Box::new(()))
            .map_err(engine_error)?;
        for (id, f) in HELPERS {
            vm.register_helper(*id, *f).map_err(engine_error)?;
        }
        for r in regions {
            vm.register_allowed_memory(r.clone());
        }
        Ok(Vm { inner: vm })
    }
}

/// rbpf's `no_std` error only implements `Debug` (`Error { kind: Other, error: "..." }`):
/// recover the message text.
fn rbpf_message(e: &rbpf::lib::Error) -> String {
    let dbg = format!("{e:?}");
    let Some(start) = dbg.find("error: \"") else {
        return dbg;
    };
    let body = &dbg[start + 8..];
    let body = body.strip_suffix("\" }").unwrap_or(body);
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(o) => out.push(o),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses rbpf's `out of bounds memory load (insn #N), addr 0x.., size S` (whose N is the
/// index after the faulting instruction, prologue included).
fn out_of_bounds(msg: &str) -> Option<RunError> {
    let rest = msg
        .strip_prefix("Error: ")
        .unwrap_or(msg)
        .strip_prefix("out of bounds memory ")?;
    let (access, rest) = rest.split_once(" (insn #")?;
    let (n, rest) = rest.split_once("), addr ")?;
    let (addr, rest) = rest.split_once(", size ")?;
    let size = rest.split_whitespace().next()?;
    Some(RunError::OutOfBounds {
        insn: n.parse::<usize>().ok()?.checked_sub(PROLOGUE_INSNS + 1)?,
        access: access.to_string(),
        addr: u64::from_str_radix(addr.trim_start_matches("0x"), 16).ok()?,
        size: size.parse().ok()?,
    })
}

fn engine_error(e: rbpf::lib::Error) -> RunError {
    let msg = rbpf_message(&e);
    if let Some(oob) = out_of_bounds(&msg) {
        return oob;
    }
    // Elsewhere rbpf numbers instructions including our prologue: translate "insn #N".
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg.as_str();
    while let Some(pos) = rest.find("insn #") {
        out.push_str(&rest[..pos + 6]);
        rest = &rest[pos + 6..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&n.saturating_sub(PROLOGUE_INSNS).to_string()),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    let message = out.trim_start_matches("Error: ").to_string();
    RunError::Engine { message }
}

/// rbpf's `StackVerifier::stack_validate`: a usage entry at 0 and at `i + 1 + imm` of every
/// `call` opcode — helper calls included, a quirk the tracer mirrors so that frame pointers
/// of bpf-to-bpf calls agree.
fn rbpf_stack_table(bytes: &[u8]) -> Vec<(usize, u16)> {
    let n = bytes.len() / 8;
    let mut out = vec![(0, stack_usage(bytes, 0, &mut ()))];
    for i in 0..n {
        let b = insn_at(bytes, i);
        if b[0] == 0x85 {
            let imm = i32::from_le_bytes([b[4], b[5], b[6], b[7]]);
            let t = (i as isize + 1 + imm as isize) as usize;
            if t < n {
                out.push((t, stack_usage(bytes, t, &mut ())));
            }
        }
    }
    out.sort_unstable_by_key(|e| e.0);
    // A later entry for the same pc replaces an earlier one in rbpf's HashMap; the values
    // are equal anyway (same pc, same calculator).
    out.dedup_by_key(|e| e.0);
    out
}

/// Stack bytes function `pc` uses: the deepest `r10`-relative access or address taken.
fn stack_usage(prog: &[u8], pc: usize, _data: &mut dyn std::any::Any) -> u16 {
    let n = prog.len() / 8;
    let mut starts: Vec<usize> = vec![0];
    for i in 0..n {
        let b = insn_at(prog, i);
        if b[0] == 0x85 && (b[1] >> 4) == 1 {
            let imm = i32::from_le_bytes([b[4], b[5], b[6], b[7]]);
            let t = i as i64 + 1 + i64::from(imm);
            if t >= 0 {
                starts.push(t as usize);
            }
        }
    }
    starts.sort_unstable();
    let end = starts.iter().copied().find(|&s| s > pc).unwrap_or(n);
    let mut depth: i64 = 0;
    let mut fp_copy = [false; 11];
    for i in pc.min(n)..end {
        let b = insn_at(prog, i);
        let (op, dst, src) = (b[0], (b[1] & 0x0f) as usize, (b[1] >> 4) as usize);
        let off = i64::from(i16::from_le_bytes([b[2], b[3]]));
        let imm = i64::from(i32::from_le_bytes([b[4], b[5], b[6], b[7]]));
        let class = op & 0x07;
        let base = if class == 0x01 { src } else { dst };
        if matches!(class, 0x01..=0x03) && base == 10 {
            depth = depth.max(-off);
        }
        if dst < 11 {
            if op == 0xbf && src == 10 {
                fp_copy[dst] = true;
                continue;
            }
            if op == 0x07 && fp_copy[dst] {
                depth = depth.max(-imm);
            }
            if class == 0x07 || class == 0x04 || (class == 0x01 && dst < 11) {
                fp_copy[dst] = false;
            }
        }
    }
    ((depth.clamp(0, 512) + 7) & !7) as u16
}

/// Checks every instruction and every call; returns whether the program needs the tracing
/// interpreter (an instruction rbpf cannot execute, or executes unlike Linux).
fn check_insns(prog: &[u8]) -> Result<bool, RunError> {
    let n = prog.len() / 8;
    let mut tracer = false;
    let mut i = 0;
    while i < n {
        let b = insn_at(prog, i);
        let (op, src) = (b[0], b[1] >> 4);
        let off = i16::from_le_bytes([b[2], b[3]]);
        let imm = i32::from_le_bytes([b[4], b[5], b[6], b[7]]);
        let class = op & 0x07;
        let invalid = |what: String| Err(RunError::Invalid { insn: i, what });
        let jump_target = |delta: i64| -> Result<(), RunError> {
            let t = i as i64 + 1 + delta;
            if t < 0 || t >= n as i64 {
                return Err(RunError::Invalid {
                    insn: i,
                    what: format!("jump out of range from insn {i} to {t}"),
                });
            }
            Ok(())
        };
        match class {
            // ld: only lddw
            0x00 => {
                if op != 0x18 {
                    return Err(RunError::Unsupported {
                        insn: i,
                        what: "legacy packet load".into(),
                    });
                }
                if i + 1 >= n {
                    return invalid("lddw is missing its second slot".into());
                }
                i += 2;
                continue;
            }
            0x01..=0x03 => {
                let mode = op & 0xe0;
                let size = op & 0x18;
                match (mode, class) {
                    (0x60, _) => {}
                    // ldsx (cpu v4): 1, 2 or 4 bytes
                    (0x80, 0x01) if size != 0x18 => tracer = true,
                    // atomics: 4 or 8 bytes, a known operation
                    (0xc0, 0x03) if size == 0x00 || size == 0x18 => {
                        if !matches!(
                            imm,
                            0x00 | 0x01 | 0x40 | 0x41 | 0x50 | 0x51 | 0xa0 | 0xa1 | 0xe1 | 0xf1
                        ) {
                            return invalid(format!("unknown atomic operation {imm:#x}"));
                        }
                        tracer = true;
                    }
                    _ => return invalid(format!("unknown memory mode in opcode {op:#04x}")),
                }
            }
            0x04 | 0x07 => {
                let code = op & 0xf0;
                let x = op & 0x08 != 0;
                match code {
                    // sdiv/smod (cpu v4)
                    0x30 | 0x90 if off == 1 => tracer = true,
                    0x30 | 0x90 if off != 0 => {
                        return invalid(format!("division with offset {off}"));
                    }
                    // rbpf keeps the upper half of dst after `w %= w` by zero; Linux clears it
                    0x90 if x && class == 0x04 => tracer = true,
                    // movsx (cpu v4)
                    0xb0 if off != 0 => {
                        let ok = x && (matches!(off, 8 | 16) || (off == 32 && class == 0x07));
                        if !ok {
                            return invalid(format!("sign-extending move with offset {off}"));
                        }
                        tracer = true;
                    }
                    0xd0 => {
                        if !matches!(imm, 16 | 32 | 64) {
                            return invalid(format!("byte swap width {imm}"));
                        }
                        // bswap (cpu v4): BPF_ALU64 | BPF_END
                        if class == 0x07 {
                            tracer = true;
                        }
                    }
                    0xe0 | 0xf0 => return invalid(format!("unknown ALU opcode {op:#04x}")),
                    _ => {}
                }
            }
            0x05 | 0x06 => {
                let code = op & 0xf0;
                if class == 0x06 && code == 0x00 {
                    // gotol (cpu v4): the offset is the immediate
                    jump_target(i64::from(imm))?;
                    tracer = true;
                } else if code == 0x80 {
                    if class == 0x06 {
                        return invalid(format!("unknown jump opcode {op:#04x}"));
                    }
                    match src {
                        0 => {
                            let id = imm as u32;
                            if id == PROBE_ID || !runtime::is_emulated(id) {
                                return Err(RunError::UnknownHelper {
                                    insn: i,
                                    id,
                                    name: ids::helper_name(id).unwrap_or("unknown").to_string(),
                                });
                            }
                        }
                        1 => {
                            let t = i as i64 + 1 + i64::from(imm);
                            if t < 0 || t >= n as i64 {
                                return invalid(format!("call to {t} is outside the program"));
                            }
                            // rbpf adds a negative offset as a huge usize
                            if imm < 0 {
                                tracer = true;
                            }
                        }
                        _ => {
                            return Err(RunError::Unsupported {
                                insn: i,
                                what: "kfunc call".into(),
                            })
                        }
                    }
                } else if code == 0x90 {
                    if class == 0x06 {
                        return invalid(format!("unknown jump opcode {op:#04x}"));
                    }
                } else if code <= 0xd0 {
                    jump_target(i64::from(off))?;
                    // rbpf zero-extends the immediate of unsigned 64-bit compares; Linux
                    // sign-extends it
                    let unsigned = matches!(code, 0x10 | 0x20 | 0x30 | 0x50 | 0xa0 | 0xb0);
                    if class == 0x05 && op & 0x08 == 0 && unsigned && imm < 0 {
                        tracer = true;
                    }
                } else {
                    return invalid(format!("unknown jump opcode {op:#04x}"));
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(tracer)
}

thread_local! {
    /// The world of the execution in progress on this thread (wasm is single-threaded).
    static RUNTIME: RefCell<Option<Box<World>>> = const { RefCell::new(None) };
}

fn with_world(id: u32, args: [u64; 5]) -> u64 {
    RUNTIME.with(|rt| match rt.borrow_mut().as_mut() {
        Some(w) => runtime::call(w, id, args),
        None => 0,
    })
}

fn probe(_: u64, r10: u64, _: u64, _: u64, _: u64) -> u64 {
    RUNTIME.with(|rt| {
        if let Some(w) = rt.borrow_mut().as_mut() {
            w.stack = Some(crate::mem::rbpf_stack_window(r10));
            w.stack_base = Some(r10.wrapping_sub(crate::mem::RBPF_STACK_SIZE as u64));
        }
    });
    0
}

macro_rules! helper_fns {
    ($($id:path => $name:ident),* $(,)?) => {
        $(fn $name(a: u64, b: u64, c: u64, d: u64, e: u64) -> u64 {
            with_world($id, [a, b, c, d, e])
        })*
        const HELPERS: &[(u32, rbpf::Helper)] = &[
            (PROBE_ID, probe),
            $(($id, $name),)*
        ];
    };
}

helper_fns! {
    ids::BPF_FUNC_MAP_LOOKUP_ELEM => h_map_lookup_elem,
    ids::BPF_FUNC_MAP_UPDATE_ELEM => h_map_update_elem,
    ids::BPF_FUNC_MAP_DELETE_ELEM => h_map_delete_elem,
    ids::BPF_FUNC_KTIME_GET_NS => h_ktime_get_ns,
    ids::BPF_FUNC_TRACE_PRINTK => h_trace_printk,
    ids::BPF_FUNC_GET_PRANDOM_U32 => h_get_prandom_u32,
    ids::BPF_FUNC_GET_SMP_PROCESSOR_ID => h_get_smp_processor_id,
    ids::BPF_FUNC_GET_CURRENT_PID_TGID => h_get_current_pid_tgid,
    ids::BPF_FUNC_GET_CURRENT_COMM => h_get_current_comm,
    ids::BPF_FUNC_PROBE_READ_KERNEL => h_probe_read_kernel,
    ids::BPF_FUNC_PROBE_READ_KERNEL_STR => h_probe_read_kernel_str,
    ids::BPF_FUNC_KTIME_GET_BOOT_NS => h_ktime_get_boot_ns,
    ids::BPF_FUNC_SEQ_PRINTF => h_seq_printf,
    ids::BPF_FUNC_SEQ_WRITE => h_seq_write,
    ids::BPF_FUNC_SNPRINTF => h_snprintf,
    ids::BPF_FUNC_SK_STORAGE_GET => h_sk_storage_get,
    ids::BPF_FUNC_SK_STORAGE_DELETE => h_sk_storage_delete,
}

/// An rbpf VM for one [`Code`], with helpers and guest regions registered.
pub struct Vm<'a> {
    inner: rbpf::EbpfVmRaw<'a>,
}

impl std::fmt::Debug for Vm<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vm").finish_non_exhaustive()
    }
}

/// Puts the world back into its owner even if the execution unwinds.
struct Installed<'w> {
    slot: &'w mut Option<Box<World>>,
}

impl Drop for Installed<'_> {
    fn drop(&mut self) {
        let mut w = RUNTIME.with(|rt| rt.borrow_mut().take());
        if let Some(w) = w.as_mut() {
            w.stack = None;
        }
        *self.slot = w;
    }
}

impl Vm<'_> {
    /// Runs the program once with `ctx` as r1; `world` is lent to the helpers meanwhile.
    pub fn run(&self, world: &mut Option<Box<World>>, ctx: &mut [u8]) -> Result<u64, RunError> {
        let w = world.take();
        RUNTIME.with(|rt| *rt.borrow_mut() = w);
        let guard = Installed { slot: world };
        let r = self.inner.execute_program(ctx).map_err(engine_error);
        drop(guard);
        r
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

    #[test]
    fn atomics_and_v4_need_the_tracer() {
        let prep = |body: &[[u8; 8]]| {
            let mut p: Vec<u8> = body.concat();
            p.extend(insn(0x95, 0, 0, 0, 0));
            Code::prepare(&p, &[])
        };
        // lock *(u64 *)(r10 - 8) += r1
        assert!(prep(&[insn(0xdb, 10, 1, -8, 0)]).unwrap().needs_tracer());
        // r0 = (s8)r1
        assert!(prep(&[insn(0xbf, 0, 1, 8, 0)]).unwrap().needs_tracer());
        // if r1 == -1 goto +0: rbpf would zero-extend the immediate
        assert!(prep(&[insn(0x15, 1, 0, 0, -1)]).unwrap().needs_tracer());
        // plain code stays on rbpf
        assert!(!prep(&[insn(0xb7, 0, 0, 0, 1)]).unwrap().needs_tracer());
        // an unknown atomic operation is invalid
        assert!(matches!(
            prep(&[insn(0xdb, 10, 1, -8, 0x30)]),
            Err(RunError::Invalid { insn: 0, .. })
        ));
        assert!(matches!(
            prep(&[insn(0xbf, 0, 1, 7, 0)]),
            Err(RunError::Invalid { insn: 0, .. })
        ));
    }

    #[test]
    fn refuses_unknown_helpers_and_wild_jumps() {
        let mut p = Vec::new();
        p.extend(insn(0x85, 0, 0, 0, 36)); // bpf_probe_write_user
        p.extend(insn(0x95, 0, 0, 0, 0));
        assert!(matches!(
            Code::prepare(&p, &[]),
            Err(RunError::UnknownHelper {
                insn: 0,
                id: 36,
                ..
            })
        ));
        let mut q = Vec::new();
        q.extend(insn(0x05, 0, 0, 5, 0));
        q.extend(insn(0x95, 0, 0, 0, 0));
        assert!(matches!(
            Code::prepare(&q, &[]),
            Err(RunError::Invalid { insn: 0, .. })
        ));
    }

    #[test]
    fn runs_and_reports_engine_errors_in_program_numbering() {
        let mut p = Vec::new();
        p.extend(insn(0xb7, 0, 0, 0, 7));
        p.extend(insn(0x79, 1, 0, 0, 0)); // r1 = *(u64 *)(r0 + 0): wild load
        p.extend(insn(0x95, 0, 0, 0, 0));
        let code = Code::prepare(&p, &[]).unwrap();
        let vm = code.vm(&[]).unwrap();
        let mut world = None;
        let mut ctx = [0u8; 32];
        match vm.run(&mut world, &mut ctx) {
            Err(RunError::OutOfBounds {
                insn,
                access,
                addr,
                size,
            }) => assert_eq!((insn, access.as_str(), addr, size), (1, "load", 7, 8)),
            other => panic!("{other:?}"),
        }
    }
}
