//! Moving through one call's instruction trace: the position, what the registers, the stack
//! and the element's value are at that position, and where "continue" and "next helper call"
//! stop. Pure functions over an emulator [`Trace`], tested natively.
//!
//! A position `pos` is the index of the next step to execute: 0 is before the first
//! instruction, `steps.len()` is after the last one (the program exited or the trace ended).
//! The registers shown at `pos` are the ones that instruction will see.
//!
//! Not here: producing traces (the emulator's `trace` module through [`crate::engine`]),
//! rendering (see `components/trace_panel.rs`).

use std::collections::BTreeSet;

use iterscope_emulator::trace::{RegionKind, Step, Trace};

/// The registers r0–r10 at `pos`.
pub fn regs_at(trace: &Trace, pos: usize) -> Option<[u64; 11]> {
    match trace.steps.get(pos) {
        Some(s) => Some(s.regs_before),
        None => trace.steps.last().map(|s| s.regs),
    }
}

/// The program counter at `pos` (the last one once every step ran).
pub fn pc_at(trace: &Trace, pos: usize) -> Option<usize> {
    trace
        .steps
        .get(pos)
        .or_else(|| trace.steps.last())
        .map(|s| s.pc)
}

/// The step that ran last before `pos`, whose memory accesses are highlighted.
pub fn last_step(trace: &Trace, pos: usize) -> Option<&Step> {
    pos.checked_sub(1).and_then(|i| trace.steps.get(i))
}

/// The next position after `pos` that is about to execute one of `breakpoints`, or the end.
pub fn continue_to(trace: &Trace, pos: usize, breakpoints: &BTreeSet<usize>) -> usize {
    let n = trace.steps.len();
    (pos + 1..n)
        .find(|&i| breakpoints.contains(&trace.steps[i].pc))
        .unwrap_or(n)
}

/// The position just before the next helper call after `pos`, or the end.
pub fn next_helper(trace: &Trace, pos: usize) -> usize {
    let n = trace.steps.len();
    (pos + 1..n)
        .find(|&i| trace.steps[i].helper.is_some())
        .unwrap_or(n)
}

/// The bytes of the element's value at `pos`: the value before the call with the program's
/// writes of the steps before `pos` applied.
pub fn value_at(trace: &Trace, pos: usize) -> Option<Vec<u8>> {
    let mut v = trace.value_before.clone()?;
    apply_writes(trace, pos, &RegionKind::Value, &mut v);
    Some(v)
}

/// The key's bytes at `pos` (only teaching mode can change them).
pub fn key_at(trace: &Trace, pos: usize) -> Option<Vec<u8>> {
    let mut k = trace.key.clone()?;
    apply_writes(trace, pos, &RegionKind::Key, &mut k);
    Some(k)
}

fn apply_writes(trace: &Trace, pos: usize, region: &RegionKind, bytes: &mut [u8]) {
    for s in trace.steps.iter().take(pos) {
        for m in s.mem.iter().filter(|m| m.write && &m.region == region) {
            let le = m.value.to_le_bytes();
            let start = m.offset as usize;
            for (k, byte) in le.iter().take(usize::from(m.size)).enumerate() {
                if let Some(b) = bytes.get_mut(start + k) {
                    *b = *byte;
                }
            }
        }
    }
}

/// Each global data section's bytes at `pos`: the bytes before the call with the program's
/// writes of the steps before `pos` applied.
pub fn globals_at(trace: &Trace, pos: usize) -> Vec<(String, Vec<u8>)> {
    trace
        .globals_before
        .iter()
        .map(|(section, bytes)| {
            let mut b = bytes.clone();
            apply_writes(trace, pos, &RegionKind::Global(section.clone()), &mut b);
            (section.clone(), b)
        })
        .collect()
}

/// The stack slots the program wrote before `pos`: `(offset from r10, size, value)`, the
/// latest write per offset, sorted from the frame pointer down.
pub fn stack_at(trace: &Trace, pos: usize) -> Vec<(i64, u8, u64)> {
    let mut slots: Vec<(i64, u8, u64)> = Vec::new();
    for s in trace.steps.iter().take(pos) {
        for m in s
            .mem
            .iter()
            .filter(|m| m.write && m.region == RegionKind::Stack)
        {
            // The region is the 512-byte stack; r10 points just past its end.
            let off = m.offset as i64 - 512;
            match slots.iter_mut().find(|(o, _, _)| *o == off) {
                Some(slot) => *slot = (off, m.size, m.value),
                None => slots.push((off, m.size, m.value)),
            }
        }
    }
    slots.sort_by_key(|s| std::cmp::Reverse(s.0));
    slots
}

/// The verifier's type of register `r` at `pc`, when verification ran.
pub fn verifier_type(trace: &Trace, pc: usize, r: usize) -> Option<&str> {
    trace.verifier_regs.get(pc)?.get(r)?.as_deref()
}

#[cfg(test)]
mod tests {
    use super::*;
    use iterscope_emulator::trace::{EngineKind, HelperStep, MemAccess};

    fn step(pc: usize, r0: u64, mem: Vec<MemAccess>, helper: bool) -> Step {
        let mut before = [0u64; 11];
        before[0] = r0.saturating_sub(1);
        let mut after = before;
        after[0] = r0;
        Step {
            pc,
            insn: format!("insn {pc}"),
            regs_before: before,
            regs: after,
            mem,
            helper: helper.then(|| HelperStep {
                id: 126,
                name: "bpf_seq_printf".into(),
                args: [0; 5],
                ret: 0,
            }),
            line: None,
        }
    }

    fn write(region: RegionKind, offset: u64, size: u8, value: u64) -> MemAccess {
        MemAccess {
            write: true,
            region,
            addr: 0x1000 + offset,
            offset,
            size,
            value,
        }
    }

    fn trace(steps: Vec<Step>) -> Trace {
        Trace {
            call: 1,
            seq_num: 1,
            is_stop: false,
            steps,
            truncated: false,
            insns_executed: 0,
            ret: 0,
            engine: EngineKind::Rbpf,
            disagreement: None,
            verifier_regs: vec![[
                None,
                Some("ctx()".into()),
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                Some("fp0".into()),
            ]],
            stack: vec![0; 512],
            key: Some(vec![1, 0, 0, 0]),
            value_before: Some(vec![0; 8]),
            value_after: Some(vec![5, 0, 0, 0, 0, 0, 0, 0]),
            output: Vec::new(),
            unverified: false,
            error: None,
            verifier_error: None,
            globals_before: vec![(".bss".into(), vec![0; 8])],
        }
    }

    fn sample() -> Trace {
        trace(vec![
            step(0, 1, vec![], false),
            step(1, 2, vec![write(RegionKind::Stack, 504, 8, 7)], false),
            step(
                2,
                3,
                vec![
                    write(RegionKind::Value, 0, 4, 5),
                    write(RegionKind::Global(".bss".into()), 4, 2, 0x0102),
                ],
                false,
            ),
            step(3, 4, vec![], true),
            step(4, 5, vec![write(RegionKind::Stack, 504, 8, 9)], false),
        ])
    }

    #[test]
    fn registers_and_pc_follow_the_position() {
        let t = sample();
        assert_eq!(regs_at(&t, 0).map(|r| r[0]), Some(0));
        assert_eq!(regs_at(&t, 2).map(|r| r[0]), Some(2));
        assert_eq!(
            regs_at(&t, 5).map(|r| r[0]),
            Some(5),
            "after the end: last regs"
        );
        assert_eq!(pc_at(&t, 3), Some(3));
        assert_eq!(pc_at(&t, 5), Some(4));
        assert!(last_step(&t, 0).is_none());
        assert_eq!(last_step(&t, 2).map(|s| s.pc), Some(1));
        assert!(regs_at(&trace(Vec::new()), 0).is_none());
    }

    #[test]
    fn continue_and_next_helper_stop_where_they_should() {
        let t = sample();
        let bps: BTreeSet<usize> = [2, 4].into_iter().collect();
        assert_eq!(continue_to(&t, 0, &bps), 2);
        assert_eq!(continue_to(&t, 2, &bps), 4);
        assert_eq!(continue_to(&t, 4, &bps), 5);
        assert_eq!(continue_to(&t, 0, &BTreeSet::new()), 5);
        assert_eq!(next_helper(&t, 0), 3);
        assert_eq!(next_helper(&t, 3), 5);
    }

    #[test]
    fn value_and_stack_replay_the_writes() {
        let t = sample();
        assert_eq!(value_at(&t, 2), Some(vec![0; 8]));
        assert_eq!(value_at(&t, 3), Some(vec![5, 0, 0, 0, 0, 0, 0, 0]));
        assert_eq!(value_at(&t, 5), t.value_after);
        assert_eq!(key_at(&t, 5), t.key);
        assert_eq!(globals_at(&t, 2), vec![(".bss".to_owned(), vec![0; 8])]);
        assert_eq!(
            globals_at(&t, 3),
            vec![(".bss".to_owned(), vec![0, 0, 0, 0, 2, 1, 0, 0])]
        );
        assert!(stack_at(&t, 1).is_empty());
        assert_eq!(stack_at(&t, 2), vec![(-8, 8, 7)]);
        assert_eq!(stack_at(&t, 5), vec![(-8, 8, 9)]);
        assert_eq!(verifier_type(&t, 0, 1), Some("ctx()"));
        assert_eq!(verifier_type(&t, 0, 2), None);
        assert_eq!(verifier_type(&t, 9, 1), None);
    }
}
