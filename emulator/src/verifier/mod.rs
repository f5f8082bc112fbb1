//! A verifier for iterator programs in the manner of Linux's: it explores every path of the
//! program with an abstract state per instruction (register and stack types, scalar bounds),
//! prunes paths whose state an explored one subsumes, and rejects what Linux 6.18 rejects
//! with Linux's message: writes into the read-only key (`R1 cannot write into rdonly_buf`),
//! dereferences before the NULL check (`R1 invalid mem access 'rdonly_buf_or_null'`),
//! negative or variable buffer offsets, bad context accesses, uninitialised registers,
//! out-of-bounds map values, helper argument types, helpers iterator programs may not
//! call, return values outside `[0, 1]`, jumps out of range, unreachable code, infinite loops
//! and the 1,000,000 processed-instruction limit. Iterators are loaded with CAP_BPF and
//! CAP_PERFMON, so the privileged relaxations apply: uninitialised stack may be read, pointers
//! may be stored into maps and compared, and an array lookup with a constant in-range key is
//! never NULL. It records `max_rdonly_access` and
//! `max_rdwr_access` as Linux does, for the attach-time check (see [`attach_check`]).
//!
//! The log ([`VerifierLog`]) has the shape of Linux's: `N: (op) insn ; R1=...` lines, source
//! lines from BTF line info, `from X to Y:` when a pending branch is taken up, the error line
//! and the statistics line. The error line is meant to equal Linux's; the rest reads the same
//! but is not byte-identical (no `mark_precise` lines, no liveness table).
//!
//! Out of scope: precision tracking, kfuncs, `bpf_loop` callbacks, sleepable programs,
//! spin locks, dynptrs, and every program type other than `iter/bpf_map_elem`.

mod check;
mod liveness;
pub mod state;

use std::collections::HashMap;
use std::fmt::Write as _;

use thiserror::Error;

use crate::elf::LineInfo;
use crate::errno::Errno;
pub use state::MapRef;

/// Linux's `BPF_COMPLEXITY_LIMIT_INSNS`.
pub const COMPLEXITY_LIMIT_INSNS: u64 = 1_000_000;

/// What an `lddw` with a relocation loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LddwTarget {
    /// A map (`BPF_PSEUDO_MAP_FD`): `map_ptr`.
    Map(MapRef),
    /// A pointer into a map's value (`BPF_PSEUDO_MAP_VALUE`, global data): `map_value`.
    Value {
        /// The map.
        map: MapRef,
        /// Offset into its value.
        off: i64,
    },
}

/// What the verifier needs to know about a program.
#[derive(Debug, Clone)]
pub struct Env<'a> {
    /// Raw 8-byte instructions (after linking).
    pub insns: &'a [u8],
    /// Relocated `lddw`s by instruction index.
    pub lddw: HashMap<usize, LddwTarget>,
    /// BTF line info, sorted by instruction.
    pub lines: &'a [LineInfo],
}

/// The kernel-style verifier log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifierLog(pub String);

impl VerifierLog {
    fn line(&mut self, s: &str) {
        if self.0.len() < check::MAX_LOG {
            self.0.push_str(s);
            self.0.push('\n');
        }
    }

    fn final_line(&mut self, s: &str) {
        self.0.push_str(s);
        self.0.push('\n');
    }
}

/// A rejection: the instruction, Linux's message and the errno `BPF_PROG_LOAD` returns.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message} (insn {insn})")]
pub struct VerifyError {
    /// Instruction index.
    pub insn: usize,
    /// The log's error line, as Linux prints it.
    pub message: String,
    /// Lines Linux prints just before the error line (for a map value out of bounds,
    /// `invalid access to map value, ...` precedes `R1 min value is outside ...`).
    pub context: Vec<String>,
    /// The load's errno.
    pub errno: Errno,
}

/// A program that passed, with what the attach check needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Largest `off + size` read through the key (`prog->aux->max_rdonly_access`).
    pub max_rdonly_access: u32,
    /// Largest `off + size` through the value (`prog->aux->max_rdwr_access`).
    pub max_rdwr_access: u32,
    /// Instructions processed.
    pub processed: u64,
    /// The log.
    pub log: VerifierLog,
    /// Per instruction: the register types (`r0`..`r10`, `None` when not initialised) of
    /// the first state that reached it; all `None` for an instruction never reached.
    pub insn_regs: Vec<[Option<String>; 11]>,
}

/// A program that failed, with its log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Why.
    pub error: VerifyError,
    /// The log, ending with the error line and the statistics.
    pub log: VerifierLog,
    /// As [`Verified::insn_regs`], for the instructions explored before the rejection.
    pub insn_regs: Vec<[Option<String>; 11]>,
}

fn insn_regs(v: &mut check::Verifier<'_>) -> Vec<[Option<String>; 11]> {
    std::mem::take(&mut v.insn_regs)
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect()
}

/// The iterator target a program is verified for: it decides what `ctx->key` (offset 16)
/// is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IterTarget {
    /// `iter/bpf_map_elem`: offset 16 is the key, `rdonly_buf_or_null`.
    #[default]
    MapElem,
    /// `iter/bpf_sk_storage_map`: offset 16 is the socket, `ptr_or_null_sock`.
    SkStorageMap,
}

/// Verifies an `iter/bpf_map_elem` program.
pub fn verify(env: &Env<'_>) -> Result<Verified, Box<Rejected>> {
    verify_target(env, IterTarget::MapElem)
}

/// Verifies a program of the iterator `target`.
pub fn verify_target(env: &Env<'_>, target: IterTarget) -> Result<Verified, Box<Rejected>> {
    let mut v = check::Verifier::new(env, target);
    match v.run() {
        Ok(()) => {
            let depth = v.stack_line();
            v.log.final_line(&depth);
            let stats = v.stats_line();
            v.log.final_line(&stats);
            let insn_regs = insn_regs(&mut v);
            Ok(Verified {
                max_rdonly_access: v.max_rdonly,
                max_rdwr_access: v.max_rdwr,
                processed: v.processed,
                log: v.log,
                insn_regs,
            })
        }
        Err(error) => {
            v.log.final_line(&error.message);
            let depth = v.stack_line();
            v.log.final_line(&depth);
            let stats = v.stats_line();
            v.log.final_line(&stats);
            let insn_regs = insn_regs(&mut v);
            Err(Box::new(Rejected {
                error,
                log: v.log,
                insn_regs,
            }))
        }
    }
}

/// Linux's attach-time check of a map-element iterator (`bpf_iter_attach_map`): the largest
/// key access must fit the key, the largest value access the value (per-CPU maps:
/// `round_up(value_size, 8) * possible CPUs`). `Err(EACCES)` when it does not.
pub fn attach_check(
    v: &Verified,
    key_size: u32,
    value_size: u32,
    percpu: bool,
    ncpus: u32,
) -> Result<(), Errno> {
    let value_bound = if percpu {
        value_size.div_ceil(8) * 8 * ncpus
    } else {
        value_size
    };
    if v.max_rdonly_access > key_size || v.max_rdwr_access > value_bound {
        return Err(Errno::EACCES);
    }
    Ok(())
}

/// Pads an instruction line to the log's state column.
pub(crate) fn pad_to_state(line: &mut String) {
    let len = line.chars().count();
    if len < 38 {
        line.extend(std::iter::repeat_n(' ', 38 - len));
    } else {
        line.push(' ');
    }
}

/// `from X to Y: R1=... R10=fp0` style register listing of a state.
pub(crate) fn regs_line(st: &state::State) -> String {
    let mut out = String::new();
    let f = st.cur();
    for (i, r) in f.regs.iter().enumerate() {
        if !matches!(r, state::Reg::NotInit) {
            let _ = write!(out, "{}R{i}={r}", if out.is_empty() { "" } else { " " });
        }
    }
    for (i, s) in f.stack.iter().enumerate() {
        match s {
            state::Slot::Spill(r) => {
                let _ = write!(out, " fp-{}={r}", (i + 1) * 8);
            }
            state::Slot::Bytes(b) if b.iter().any(|x| *x != state::Byte::Invalid) => {
                let txt: String = b
                    .iter()
                    .rev()
                    .map(|x| match x {
                        state::Byte::Invalid => '?',
                        state::Byte::Misc => 'm',
                        state::Byte::Zero => '0',
                    })
                    .collect();
                let _ = write!(out, " fp-{}={txt}", (i + 1) * 8);
            }
            state::Slot::Bytes(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random instruction streams, biased towards real opcodes and small offsets, never make
    /// the verifier panic or run away: it answers every one with a verdict.
    #[test]
    fn random_programs_get_a_verdict_not_a_panic() {
        const OPS: &[u8] = &[
            0x07, 0x0f, 0x17, 0x1f, 0x27, 0x37, 0x3f, 0x47, 0x4f, 0x57, 0x5f, 0x67, 0x77, 0x87,
            0x97, 0x9f, 0xa7, 0xaf, 0xb7, 0xbf, 0xc7, 0xcf, 0x04, 0x0c, 0xb4, 0xbc, 0xdc, 0xd4,
            0x05, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x45, 0x55, 0x5d, 0xa5, 0xad, 0xb5, 0xc5, 0xd5,
            0x16, 0x1e, 0x56, 0x85, 0x95, 0x61, 0x69, 0x71, 0x79, 0x62, 0x6a, 0x72, 0x7a, 0x63,
            0x6b, 0x73, 0x7b, 0x18, 0xc3, 0xdb, 0x00, 0xff,
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..3000 {
            let n = 1 + (next() % 24) as usize;
            let mut prog = Vec::with_capacity(n * 8);
            for _ in 0..n {
                let r = next();
                let op = OPS[(r % OPS.len() as u64) as usize];
                let regs = ((r >> 8) % 11) as u8 | ((((r >> 12) % 11) as u8) << 4);
                let off = ((r >> 16) % 32) as i16 - 16;
                let imm = match op {
                    0x85 => [1i32, 2, 5, 6, 7, 8, 14, 16, 36, 126, 127, 148, 165, 999]
                        [(r >> 32) as usize % 14],
                    _ => ((r >> 32) % 64) as i32 - 32,
                };
                let o = off.to_le_bytes();
                let i = imm.to_le_bytes();
                prog.extend_from_slice(&[op, regs, o[0], o[1], i[0], i[1], i[2], i[3]]);
            }
            prog.extend_from_slice(&[0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
            let env = Env {
                insns: &prog,
                lddw: HashMap::new(),
                lines: &[],
            };
            let _ = verify(&env);
        }
    }
}
