//! A self-contained benchmark workload: a zero-seed hash map of N `u32 -> u64` elements
//! iterated by a hand-assembled program that either sums the values into a global or prints
//! each element with `bpf_seq_printf` (`"%u %llu\n"`), read to EOF with 4 KiB reads.
//!
//! Used by `iterscope bench` and the criterion benchmark, and comparable with the same
//! workload on the kernel. [`Bench::run_live`] runs the same workload as a scenario (the
//! program assembled from text, the map from a generator) through [`LiveRun`] in chunks of
//! calls, recording the call log, as the browser UI does. Not a general harness.

use crate::helpers::runtime::World;
use crate::iter::Machine;
use crate::live::LiveRun;
use crate::maps::{Map, MapDef, MapKind, MapLimits, UpdateValue, BPF_ANY, BPF_F_ZERO_SEED};
use crate::scenario::{run_session, RunOptions, Scenario};
use crate::vm::{Code, Patch};
use crate::Error;

/// The workload.
#[derive(Debug, Clone, Copy)]
pub struct Bench {
    /// Map elements.
    pub elements: u32,
    /// Print each element (else only sum).
    pub printf: bool,
}

/// What a run did.
#[derive(Debug, Clone, Copy)]
pub struct BenchResult {
    /// Program invocations.
    pub calls: u64,
    /// Output bytes.
    pub bytes: usize,
    /// The sum the program accumulated.
    pub sum: u64,
}

/// What a chunked [`LiveRun`] did.
#[derive(Debug, Clone, Copy)]
pub struct LiveBenchResult {
    /// Program invocations.
    pub calls: u64,
    /// [`LiveRun::advance`] calls.
    pub chunks: u64,
    /// Output bytes.
    pub bytes: usize,
    /// The call log's stored bytes per call.
    pub log_bytes_per_call: usize,
    /// The call log's allocated bytes.
    pub log_heap_bytes: usize,
}

/// The workload's program in the assembler's syntax; `{PRINTF}` is replaced by the
/// printing part or nothing.
const LIVE_PROGRAM: &str = r#"
.rodata
fmt:
    .asciz "%u %llu\n"
.bss
sum:
    .zero 8
.section "iter/bpf_map_elem"
bench:
    r2 = *(u64 *)(r1 +16)
    r3 = *(u64 *)(r1 +24)
    r6 = *(u64 *)(r1 +0)
    if r2 == 0x0 goto out
    if r3 == 0x0 goto out
    r4 = *(u64 *)(r3 +0)
    r5 = sum ll
    r0 = *(u64 *)(r5 +0)
    r0 += r4
    *(u64 *)(r5 +0) = r0
{PRINTF}
out:
    r0 = 0
    exit
"#;

const LIVE_PRINTF: &str = r"
    r2 = *(u32 *)(r2 +0)
    *(u64 *)(r10 -16) = r2
    *(u64 *)(r10 -8) = r4
    r1 = *(u64 *)(r6 +0)
    r2 = fmt ll
    r3 = 9
    r4 = r10
    r4 += -16
    r5 = 16
    call bpf_seq_printf
";

fn insn(op: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
    let o = off.to_le_bytes();
    let i = imm.to_le_bytes();
    [op, dst | (src << 4), o[0], o[1], i[0], i[1], i[2], i[3]]
}

impl Bench {
    /// Builds the machine (map filled, program loaded).
    pub fn machine(&self) -> Result<Machine, Error> {
        let limits = MapLimits::default();
        let mk = |def: MapDef| {
            Map::create(def, 2, 0, &limits).map_err(|e| {
                Error::Scenario(crate::scenario::ScenarioError::MapCreate(e.to_string()))
            })
        };
        let mut hash = mk(MapDef {
            kind: MapKind::Hash,
            key_size: 4,
            value_size: 8,
            max_entries: self.elements.max(1),
            flags: BPF_F_ZERO_SEED,
            name: "bench".into(),
        })?;
        for i in 0..self.elements {
            let v = u64::from(i) * 3 + 1;
            hash.update(
                &i.to_le_bytes(),
                UpdateValue::Same(&v.to_le_bytes()),
                BPF_ANY,
                0,
            )
            .map_err(|e| {
                Error::Scenario(crate::scenario::ScenarioError::MapCreate(e.to_string()))
            })?;
        }
        let global = |name: &str, size: u32| {
            mk(MapDef {
                kind: MapKind::Array,
                key_size: 4,
                value_size: size,
                max_entries: 1,
                flags: 0,
                name: name.into(),
            })
        };
        let bss = global("bench.bss", 8)?;
        let mut rodata = global("bench.rodata", 16)?;
        let fmt = b"%u %llu\n\0\0\0\0\0\0\0\0";
        rodata
            .update(&[0; 4], UpdateValue::Same(fmt), BPF_ANY, 0)
            .map_err(|e| {
                Error::Scenario(crate::scenario::ScenarioError::MapCreate(e.to_string()))
            })?;
        let mut world = World::new(vec![hash, bss, rodata], 2, 0, 1);
        let bss_addr = world.maps[1].lookup_prog(&[0; 4], 0).unwrap_or(0);
        let fmt_addr = world.maps[2].lookup_prog(&[0; 4], 0).unwrap_or(0);
        let mut p: Vec<[u8; 8]> = vec![
            insn(0x79, 2, 1, 16, 0), // r2 = *(u64 *)(r1 + 16)  key
            insn(0x79, 3, 1, 24, 0), // r3 = *(u64 *)(r1 + 24)  value
            insn(0x79, 6, 1, 0, 0),  // r6 = *(u64 *)(r1 + 0)   meta
            insn(0x15, 2, 0, 0, 0),  // if r2 == 0 goto exit (patched below)
            insn(0x15, 3, 0, 0, 0),  // if r3 == 0 goto exit (patched below)
            insn(0x79, 4, 3, 0, 0),  // r4 = *(u64 *)(r3 + 0)
            insn(0x18, 5, 0, 0, 0),  // r5 = bss ll
            insn(0, 0, 0, 0, 0),
            insn(0x79, 0, 5, 0, 0), // r0 = *(u64 *)(r5 + 0)
            insn(0x0f, 0, 4, 0, 0), // r0 += r4
            insn(0x7b, 5, 0, 0, 0), // *(u64 *)(r5 + 0) = r0
        ];
        if self.printf {
            p.extend([
                insn(0x61, 2, 2, 0, 0),    // r2 = *(u32 *)(r2 + 0)
                insn(0x7b, 10, 2, -16, 0), // *(u64 *)(r10 - 16) = r2
                insn(0x7b, 10, 4, -8, 0),  // *(u64 *)(r10 - 8) = r4
                insn(0x79, 1, 6, 0, 0),    // r1 = *(u64 *)(r6 + 0)  seq
                insn(0x18, 2, 0, 0, 0),    // r2 = fmt ll
                insn(0, 0, 0, 0, 0),
                insn(0xb7, 3, 0, 0, 9),   // r3 = 9
                insn(0xbf, 4, 10, 0, 0),  // r4 = r10
                insn(0x07, 4, 0, 0, -16), // r4 += -16
                insn(0xb7, 5, 0, 0, 16),  // r5 = 16
                insn(0x85, 0, 0, 0, 126), // call bpf_seq_printf
            ]);
        }
        let exit = p.len();
        p.push(insn(0xb7, 0, 0, 0, 0)); // r0 = 0
        p.push(insn(0x95, 0, 0, 0, 0)); // exit
        p[3] = insn(0x15, 2, 0, (exit - 4) as i16, 0);
        p[4] = insn(0x15, 3, 0, (exit - 5) as i16, 0);
        let mut patches = vec![Patch {
            insn: 6,
            value: bss_addr,
        }];
        if self.printf {
            patches.push(Patch {
                insn: 15,
                value: fmt_addr,
            });
        }
        let bytes: Vec<u8> = p.concat();
        let code = Code::prepare(&bytes, &patches)?;
        Ok(Machine::new(code, world))
    }

    /// The workload as a scenario and an object: a zero-seed hash map filled by a generator
    /// (`value = 3 * key + 1`) and the program assembled from text.
    ///
    /// # Errors
    ///
    /// [`Error::Asm`] if the built-in program does not assemble (a bug).
    pub fn scenario(&self) -> Result<(Scenario, Vec<u8>), Error> {
        let text = LIVE_PROGRAM.replace("{PRINTF}", if self.printf { LIVE_PRINTF } else { "" });
        let object = crate::asm::write_object(&crate::asm::assemble(&text)?);
        let sc = Scenario::from_json(&format!(
            r#"{{"program":"bench.o","map":{{"type":"hash","name":"bench","key_size":4,
            "value_size":8,"max_entries":{max},"flags":{BPF_F_ZERO_SEED},
            "entries":{{"gen":"seq","count":{n},"mul":3,"add":1}}}}}}"#,
            max = self.elements.max(1),
            n = self.elements,
        ))?;
        Ok((sc, object))
    }

    /// Runs [`Bench::scenario`] through a [`LiveRun`], `chunk` program calls per advance
    /// (the map fill and load are not part of the figure the caller times).
    ///
    /// # Errors
    ///
    /// What [`LiveRun::start`] and [`LiveRun::advance`] return.
    pub fn live(&self) -> Result<LiveRun, Error> {
        let (sc, object) = self.scenario()?;
        LiveRun::start(&sc, &object, "bench", &RunOptions::default())
    }

    /// Advances `run` (from [`Bench::live`]) to the end of its session in chunks of `chunk`
    /// calls.
    ///
    /// # Errors
    ///
    /// What [`LiveRun::advance`] returns.
    pub fn run_live(run: &mut LiveRun, chunk: u64) -> Result<LiveBenchResult, Error> {
        let mut chunks = 0;
        while !run.is_finished() {
            run.advance(chunk)?;
            chunks += 1;
        }
        Ok(LiveBenchResult {
            calls: run.calls_done(),
            chunks,
            bytes: run.output().len(),
            log_bytes_per_call: run.log().bytes_per_call(),
            log_heap_bytes: run.log().heap_bytes(),
        })
    }

    /// Builds and runs the workload once.
    pub fn run(&self) -> Result<BenchResult, Error> {
        let mut m = self.machine()?;
        let r = run_session(&mut m, 4096)?;
        let sum = m.world().maps[1]
            .lookup_sys(&[0; 4])
            .and_then(|v| match v {
                crate::maps::DumpValue::Single(b) => b.get(..8).map(|s| {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(s);
                    u64::from_le_bytes(a)
                }),
                crate::maps::DumpValue::PerCpu(_) => None,
            })
            .unwrap_or(0);
        Ok(BenchResult {
            calls: r.prog_calls,
            bytes: r.bytes.len(),
            sum,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_and_prints_every_element() {
        let r = Bench {
            elements: 1000,
            printf: false,
        }
        .run()
        .unwrap();
        assert_eq!(r.calls, 1001);
        assert_eq!(r.sum, (0..1000u64).map(|i| 3 * i + 1).sum::<u64>());
        let p = Bench {
            elements: 1000,
            printf: true,
        }
        .run()
        .unwrap();
        let expected: usize = (0..1000u64)
            .map(|i| format!("{i} {}\n", 3 * i + 1).len())
            .sum();
        assert_eq!(p.bytes, expected);
    }

    #[test]
    fn the_live_workload_prints_what_the_machine_prints() {
        for printf in [false, true] {
            let b = Bench {
                elements: 300,
                printf,
            };
            let mut run = b.live().unwrap();
            assert_eq!(run.load(), "ok", "{}", run.verifier_log());
            let r = Bench::run_live(&mut run, 100).unwrap();
            assert_eq!(r.calls, 301);
            assert_eq!(r.chunks, 4);
            assert_eq!(r.bytes, b.run().unwrap().bytes);
        }
    }
}

/// A program whose verification processes about `2 * iterations + 4` instructions: a
/// bounded counting loop, to measure the verifier near its 1,000,000-instruction limit.
pub fn bounded_loop_program(iterations: u32) -> Vec<u8> {
    let limit = i32::try_from(iterations).unwrap_or(i32::MAX);
    [
        insn(0xb7, 1, 0, 0, 0),      // r1 = 0
        insn(0x07, 1, 0, 0, 1),      // loop: r1 += 1
        insn(0xa5, 1, 0, -2, limit), // if r1 < limit goto loop
        insn(0xb7, 0, 0, 0, 0),      // r0 = 0
        insn(0x95, 0, 0, 0, 0),      // exit
    ]
    .concat()
}

/// Verifies `insns` (no maps, no line info) and returns the instructions processed.
pub fn verify_raw(insns: &[u8]) -> Result<u64, Box<crate::verifier::Rejected>> {
    let env = crate::verifier::Env {
        insns,
        lddw: std::collections::HashMap::new(),
        lines: &[],
    };
    crate::verifier::verify(&env).map(|v| v.processed)
}

#[cfg(test)]
mod verify_tests {
    use super::*;

    #[test]
    fn the_bounded_loop_passes_and_a_longer_one_hits_the_limit() {
        let n = verify_raw(&bounded_loop_program(1000)).unwrap();
        assert!((2000..2100).contains(&n), "{n}");
        let e = verify_raw(&bounded_loop_program(600_000)).unwrap_err();
        assert_eq!(e.error.errno, crate::Errno::E2BIG);
        assert!(e
            .error
            .message
            .starts_with("BPF program is too large. Processed 1000001 insn"));
    }
}
