//! `LiveRun` against `run_scenario`: every example and every kernel-recorded case, advanced
//! one call, seven calls and everything at a time, gives the same report and calls; the
//! output and the seq_file buffer grow as the call log says; and a million-element map
//! advances in chunks with a bounded log size per call.

use std::path::{Path, PathBuf};

use iterscope_emulator::iter::CallRecord;
use iterscope_emulator::live::{CallLog, LiveRun};
use iterscope_emulator::scenario::{run_scenario, ReadSpec, RunOptions, Scenario};

fn manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// `(name, scenario, object, ncpus)` of every example and every recorded kernel case.
fn all_cases() -> Vec<(String, Scenario, Vec<u8>, u32)> {
    let mut cases = Vec::new();
    let examples = manifest().join("../examples");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&examples)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    for p in names {
        let sc = Scenario::from_json(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let obj = std::fs::read(examples.join(&sc.program)).unwrap();
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        cases.push((format!("examples/{name}"), sc, obj, 2));
    }
    // Recorded kernel cases, then the socket cases (sk_storage scenarios).
    let mut dirs: Vec<PathBuf> = ["tests/kernel", "tests/sk"]
        .iter()
        .flat_map(|d| std::fs::read_dir(manifest().join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("case.json").exists())
        .collect();
    dirs.sort();
    for d in dirs {
        let sc =
            Scenario::from_json(&std::fs::read_to_string(d.join("case.json")).unwrap()).unwrap();
        let want: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("expected.json")).unwrap())
                .unwrap();
        let obj = std::fs::read(d.join("prog.bpf.o")).unwrap();
        let name = d.file_name().unwrap().to_string_lossy().into_owned();
        let ncpus = want["ncpus"].as_u64().unwrap_or(2) as u32;
        cases.push((format!("kernel/{name}"), sc, obj, ncpus));
    }
    assert!(cases.len() >= 26 + 14, "found {} cases", cases.len());
    // The same with 7-byte reads then a second session: reads that return bytes left from
    // the previous fill, and sessions after the live one.
    let small: Vec<_> = cases
        .iter()
        .map(|(name, sc, obj, ncpus)| {
            let mut sc = sc.clone();
            sc.reads = vec![ReadSpec { read_size: 7 }, ReadSpec { read_size: 100 }];
            (format!("{name} (7-byte reads)"), sc, obj.clone(), *ncpus)
        })
        .collect();
    cases.extend(small);
    cases
}

/// Helper arguments and results that are guest addresses (host addresses, above 4 GiB)
/// differ from run to run; everything else of a call is deterministic.
fn without_addresses(calls: &[CallRecord]) -> Vec<CallRecord> {
    let mut c = calls.to_vec();
    for h in c.iter_mut().flat_map(|r| r.helpers.iter_mut()) {
        for a in h.args.iter_mut().chain([&mut h.ret]) {
            if *a >= 1 << 32 {
                *a = 0;
            }
        }
    }
    c
}

/// Advances `run` by `budget` calls at a time to the end of its first session, checking
/// after each step that the log, the output and the seq buffer agree.
fn advance_checked(name: &str, run: &mut LiveRun, budget: u64) {
    // What the logged calls that were not discarded wrote, in order.
    let mut kept = Vec::new();
    let mut logged = 0;
    let mut reads = Vec::new();
    let mut calls = 0;
    let mut out_len = 0;
    let mut steps = 0u64;
    while !run.is_finished() {
        let a = run.advance(budget).unwrap();
        assert!(
            a.calls <= budget,
            "{name}: {} calls for budget {budget}",
            a.calls
        );
        calls += a.calls;
        reads.extend(a.reads.iter().copied());
        assert_eq!(a.finished, run.is_finished(), "{name}");
        assert_eq!(run.calls_done(), calls, "{name}");
        assert_eq!(run.log().len() as u64, calls, "{name}");
        for i in logged..run.log().len() {
            let c = run.log().get(i).unwrap();
            if !c.discarded {
                kept.extend_from_slice(c.output);
            }
        }
        logged = run.log().len();
        // The output only grows, by bytes the calls wrote; the rest is still buffered.
        let out = run.output();
        assert!(out.len() >= out_len, "{name}: output shrank");
        assert_eq!(out[out_len..], kept[out_len..out.len()], "{name}");
        out_len = out.len();
        assert_eq!(run.seq_buffered(), &kept[out_len..], "{name}: seq buffer");
        steps += 1;
        assert!(steps < 10_000_000, "{name}: no progress");
    }
    assert_eq!(reads, run.reads(), "{name}");
    let returned: usize = reads.iter().filter_map(|r| r.result.ok()).sum();
    assert_eq!(returned, run.output().len(), "{name}");
    assert!(run.seq_buffered().is_empty(), "{name}");
    if budget == 1 && calls > 0 {
        assert!(steps >= calls, "{name}: one call per step");
    }
}

#[test]
fn every_case_advanced_in_steps_matches_run_scenario() {
    for (name, sc, obj, ncpus) in all_cases() {
        for record_calls in [true, false] {
            let opts = RunOptions {
                ncpus,
                hash_seed: Some(0x1234_5678),
                record_calls,
                ..RunOptions::default()
            };
            let want = run_scenario(&sc, &obj, "prog", &opts).unwrap();
            let budgets: &[u64] = if record_calls {
                &[1, 7, u64::MAX]
            } else {
                &[7]
            };
            for &budget in budgets {
                let ctx = format!("{name} (budget {budget}, record {record_calls})");
                let mut run = LiveRun::start(&sc, &obj, "prog", &opts).unwrap();
                assert_eq!(run.load(), want.load, "{ctx}");
                assert_eq!(run.verifier_log(), want.verifier_log, "{ctx}");
                assert_eq!(run.verifier_error(), want.verifier_error, "{ctx}");
                assert_eq!(run.load_error(), want.load_error.as_deref(), "{ctx}");
                assert_eq!(run.attach(), want.attach.as_deref(), "{ctx}");
                assert_eq!(run.map_update_failures(), want.map_update_failures, "{ctx}");
                advance_checked(&ctx, &mut run, budget);
                if let Some(first) = want.reads.first() {
                    assert_eq!(run.output(), first.bytes, "{ctx}");
                    assert_eq!(run.calls_done(), first.prog_calls, "{ctx}");
                }
                let (got, log) = run.finish().unwrap();
                assert_eq!(got.to_json(), want.to_json(), "{ctx}");
                assert_eq!(
                    without_addresses(&got.calls),
                    without_addresses(&want.calls),
                    "{ctx}"
                );
                if record_calls {
                    assert_eq!(log.to_records(), got.calls, "{ctx}");
                } else {
                    assert!(got.calls.is_empty(), "{ctx}");
                }
            }
        }
    }
}

#[test]
fn a_million_elements_advance_in_chunks_with_a_bounded_log() {
    let examples = manifest().join("../examples");
    let obj = std::fs::read(examples.join("hash_dump.bpf.o")).unwrap();
    let sc = Scenario::from_json(
        r#"{"program":"hash_dump.bpf.o","map":{"type":"hash","name":"big","key_size":4,
        "value_size":8,"max_entries":1000000,"flags":64,
        "entries":{"gen":"seq","count":1000000}}}"#,
    )
    .unwrap();
    let mut run = LiveRun::start(&sc, &obj, "hash_dump", &RunOptions::default()).unwrap();
    assert_eq!(run.estimated_calls(), 1_000_001);
    let mut chunks = 0;
    while !run.is_finished() {
        let a = run.advance(100_000).unwrap();
        chunks += 1;
        assert!(a.calls <= 100_000);
        assert_eq!(run.log().len() as u64, run.calls_done());
        // Each call: a 64-byte index entry, 4 key and 2 x 8 value bytes, about 20 bytes
        // of output and one bpf_seq_printf helper call (56 bytes).
        let per_call = run.log().bytes_per_call();
        assert!(
            per_call <= 176,
            "{per_call} bytes per call after {chunks} chunks"
        );
        assert!(run.log().heap_bytes() <= 2 * run.log().stored_bytes() + (1 << 20));
    }
    assert_eq!(chunks, 11);
    assert_eq!(run.calls_done(), 1_000_001);
    const { assert!(CallLog::INDEX_BYTES_PER_CALL <= 64) };
    let log = run.log();
    assert!(log
        .get(0)
        .unwrap()
        .output
        .starts_with(b"map big (type 1, max 1000000)\n"));
    let last = log.get(log.len() - 1).unwrap();
    assert!(last.is_stop);
    assert!(last
        .output
        .starts_with(b"1000000 elements, total 499999500000\n"));
    eprintln!(
        "1M calls: {} bytes per call stored, {} MiB allocated",
        log.bytes_per_call(),
        log.heap_bytes() >> 20
    );
    let report = run.into_report().unwrap();
    assert_eq!(report.reads[0].prog_calls, 1_000_001);
}
