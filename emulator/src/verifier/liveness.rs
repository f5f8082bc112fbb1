//! Register liveness before each instruction: the table Linux (6.15+) prints at the top of
//! a verbose log as `Live regs before insn:`, one line per instruction with a ten-character
//! mask of r0–r9 (`.12....7..`: a digit for each register some path will read before
//! writing it).
//!
//! A backward dataflow over the instruction graph: a register is live before an instruction
//! if the instruction reads it, or if it is live after and the instruction does not write it.
//! A helper call reads r1 up to its number of parameters and writes r0–r5; a bpf-to-bpf call
//! reads r1–r5; `exit` reads r0. The frame pointer r10 is not shown (it is never written).
//!
//! Not here: stack slot liveness or precision (which Linux uses for pruning; the verifier
//! here does not prune by liveness).

use crate::asm::Insn;

/// The registers `ins` reads and writes, as bit sets over r0–r10.
fn use_def(ins: &Insn, helper_params: &dyn Fn(u32) -> Option<usize>) -> (u16, u16) {
    let bit = |r: u8| if r <= 10 { 1u16 << r } else { 0 };
    let class = ins.op & 0x07;
    let x = ins.op & 0x08 != 0;
    match class {
        // LD: lddw writes dst.
        0x00 => (0, bit(ins.dst)),
        // LDX: reads the base, writes dst.
        0x01 => (bit(ins.src), bit(ins.dst)),
        // ST: reads the base.
        0x02 => (bit(ins.dst), 0),
        // STX: reads base and source; atomics with BPF_FETCH (or xchg/cmpxchg) also write.
        0x03 => {
            let atomic = ins.op & 0xe0 == 0xc0;
            let fetch = atomic && ins.imm & 0x01 != 0;
            let cmpxchg = atomic && ins.imm == 0xf1;
            let reads = bit(ins.dst) | bit(ins.src) | if cmpxchg { bit(0) } else { 0 };
            let writes = if cmpxchg {
                bit(0)
            } else if fetch {
                bit(ins.src)
            } else {
                0
            };
            (reads, writes)
        }
        // ALU / ALU64: mov writes only; neg and byte swaps read and write dst.
        0x04 | 0x07 => {
            let op = ins.op & 0xf0;
            let src = if x && op != 0x80 && op != 0xd0 {
                bit(ins.src)
            } else {
                0
            };
            let dst = if op == 0xb0 { 0 } else { bit(ins.dst) };
            (dst | src, bit(ins.dst))
        }
        // Jumps.
        0x05 | 0x06 => match ins.op & 0xf0 {
            0x00 => (0, 0),
            0x80 => {
                let params = if ins.src == 1 {
                    5
                } else {
                    helper_params(ins.imm as u32).unwrap_or(5)
                };
                let reads = ((1u16 << (params + 1)) - 1) & !1;
                (reads, 0b11_1111)
            }
            0x90 => (bit(0), 0),
            _ => (bit(ins.dst) | if x { bit(ins.src) } else { 0 }, 0),
        },
        _ => (0, 0),
    }
}

/// The instructions that may run after instruction `i`.
fn successors(insns: &[Insn], i: usize) -> Vec<usize> {
    let ins = insns[i];
    let class = ins.op & 0x07;
    let next = |k: i64| usize::try_from(k).ok().filter(|&k| k < insns.len());
    if ins.op == 0x18 {
        return next(i as i64 + 2).into_iter().collect();
    }
    if class != 0x05 && class != 0x06 {
        return next(i as i64 + 1).into_iter().collect();
    }
    match ins.op & 0xf0 {
        0x00 => {
            let off = if class == 0x06 {
                i64::from(ins.imm)
            } else {
                i64::from(ins.off)
            };
            next(i as i64 + 1 + off).into_iter().collect()
        }
        0x90 => Vec::new(),
        0x80 => next(i as i64 + 1).into_iter().collect(),
        _ => next(i as i64 + 1)
            .into_iter()
            .chain(next(i as i64 + 1 + i64::from(ins.off)))
            .collect(),
    }
}

/// The registers live before each instruction (a bit set over r0–r10), computed to a fixed
/// point. `helper_params` gives a helper's number of parameters (None: assume five).
pub(super) fn live_before(
    insns: &[Insn],
    helper_params: &dyn Fn(u32) -> Option<usize>,
) -> Vec<u16> {
    let n = insns.len();
    let mut second = vec![false; n];
    for i in 0..n {
        if insns[i].op == 0x18 && !second[i] && i + 1 < n {
            second[i + 1] = true;
        }
    }
    let ud: Vec<(u16, u16)> = insns.iter().map(|i| use_def(i, helper_params)).collect();
    let succ: Vec<Vec<usize>> = (0..n).map(|i| successors(insns, i)).collect();
    let mut live = vec![0u16; n];
    let mut changed = true;
    while changed {
        changed = false;
        for i in (0..n).rev() {
            if second[i] {
                continue;
            }
            let out = succ[i].iter().fold(0u16, |acc, &s| acc | live[s]);
            let (uses, defs) = ud[i];
            let new = uses | (out & !defs);
            if new != live[i] {
                live[i] = new;
                changed = true;
            }
        }
    }
    live
}

/// For each instruction, the number of the loop (strongly connected component of the
/// instruction graph with a cycle) it belongs to, counted from 1 in the order Tarjan's
/// algorithm completes them from instruction 0; 0 outside loops. Linux prints it before the
/// index in the liveness table.
pub(super) fn loops(insns: &[Insn]) -> Vec<u32> {
    let n = insns.len();
    let succ: Vec<Vec<usize>> = (0..n).map(|i| successors(insns, i)).collect();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0usize; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut out = vec![0u32; n];
    let mut next_index = 0;
    let mut next_scc = 1;
    if n == 0 {
        return out;
    }
    // Iterative Tarjan: (node, next successor to visit).
    let mut work = vec![(0usize, 0usize)];
    index[0] = next_index;
    low[0] = next_index;
    next_index += 1;
    stack.push(0);
    on_stack[0] = true;
    while let Some(&mut (v, ref mut k)) = work.last_mut() {
        if let Some(&w) = succ[v].get(*k) {
            *k += 1;
            if index[w] == usize::MAX {
                index[w] = next_index;
                low[w] = next_index;
                next_index += 1;
                stack.push(w);
                on_stack[w] = true;
                work.push((w, 0));
            } else if on_stack[w] {
                low[v] = low[v].min(index[w]);
            }
            continue;
        }
        work.pop();
        if let Some(&(parent, _)) = work.last() {
            low[parent] = low[parent].min(low[v]);
        }
        if low[v] == index[v] {
            let mut members = Vec::new();
            while let Some(w) = stack.pop() {
                on_stack[w] = false;
                members.push(w);
                if w == v {
                    break;
                }
            }
            let cyclic = members.len() > 1 || succ[v].contains(&v);
            if cyclic {
                for m in members {
                    out[m] = next_scc;
                }
                next_scc += 1;
            }
        }
    }
    out
}

/// `.12....7..`: r0–r9, a digit where live.
pub(super) fn mask(live: u16) -> String {
    (0..10u8)
        .map(|r| {
            if live & (1 << r) != 0 {
                char::from(b'0' + r)
            } else {
                '.'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insn(op: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn {
            op,
            dst,
            src,
            off,
            imm,
        }
    }

    #[test]
    fn reads_propagate_back_until_a_write() {
        // 0: r2 = *(u64 *)(r1 +0); 1: r0 = r2; 2: exit
        let p = [
            insn(0x79, 2, 1, 0, 0),
            insn(0xbf, 0, 2, 0, 0),
            insn(0x95, 0, 0, 0, 0),
        ];
        let live = live_before(&p, &|_| None);
        assert_eq!(mask(live[0]), ".1........");
        assert_eq!(mask(live[1]), "..2.......");
        assert_eq!(mask(live[2]), "0.........");
    }

    #[test]
    fn helper_calls_read_their_parameters_and_clobber_r0_to_r5() {
        // 0: call 127 (3 params); 1: r0 = 0; 2: exit
        let p = [
            insn(0x85, 0, 0, 0, 127),
            insn(0xb7, 0, 0, 0, 0),
            insn(0x95, 0, 0, 0, 0),
        ];
        let live = live_before(&p, &|id| (id == 127).then_some(3));
        assert_eq!(mask(live[0]), ".123......");
        assert_eq!(mask(live[1]), "..........");
    }

    #[test]
    fn loops_are_numbered_and_straight_code_is_not() {
        // 0: r1 = 3; 1: r1 += -1; 2: if r1 != 0 goto -2; 3: exit
        let p = [
            insn(0xb7, 1, 0, 0, 3),
            insn(0x07, 1, 0, 0, -1),
            insn(0x55, 1, 0, -2, 0),
            insn(0x95, 0, 0, 0, 0),
        ];
        assert_eq!(loops(&p), vec![0, 1, 1, 0]);
    }

    #[test]
    fn branches_join_both_successors_and_lddw_is_one_insn() {
        // 0: if r1 == 0 goto +2; 1: r0 = r3; 2: exit; 3: r0 = r4 ll (2 slots); 5: exit
        let p = [
            insn(0x15, 1, 0, 2, 0),
            insn(0xbf, 0, 3, 0, 0),
            insn(0x95, 0, 0, 0, 0),
            insn(0x18, 0, 0, 0, 1),
            insn(0x00, 0, 0, 0, 0),
            insn(0x95, 0, 0, 0, 0),
        ];
        let live = live_before(&p, &|_| None);
        assert_eq!(mask(live[0]), ".1.3......");
        assert_eq!(mask(live[3]), "..........");
    }
}
