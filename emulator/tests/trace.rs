//! The instruction stepper (`trace`): every example scenario and every recorded kernel case
//! traced on every call (a sample for the 100k-element case) with rbpf and the tracing
//! interpreter agreeing; the instruction budget and the step cap; teaching mode.

mod common;

use std::path::{Path, PathBuf};

use iterscope_emulator::scenario::{run_scenario, RunOptions, Scenario};
use iterscope_emulator::trace::{
    trace_call, trace_calls, EngineKind, RegionKind, Trace, TraceError, TraceLimits,
};
use iterscope_emulator::Error;

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn kernel_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kernel")
}

/// Every call up to 300; beyond, the first 50, ten in the middle and the last five.
fn sample(n: u64) -> Vec<u64> {
    if n <= 300 {
        return (0..n).collect();
    }
    let mut v: Vec<u64> = (0..50).collect();
    v.extend(n / 2 - 5..n / 2 + 5);
    v.extend(n - 5..n);
    v
}

/// Traces the sampled calls of a scenario's first session; returns how many were traced
/// and the disagreements.
fn trace_scenario(
    name: &str,
    sc: &Scenario,
    obj: &[u8],
    opts: &RunOptions,
) -> (usize, Vec<String>) {
    let report = run_scenario(sc, obj, "prog", opts).unwrap_or_else(|e| panic!("{name}: {e}"));
    if report.load != "ok" || report.attach.as_deref() != Some("ok") {
        return (0, Vec::new());
    }
    let calls = report.reads[0].prog_calls;
    let want = sample(calls);
    let traces = trace_calls(sc, obj, "prog", opts, &want, &TraceLimits::default(), false)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        traces.len(),
        want.len(),
        "{name}: every sampled call traced"
    );
    let mut bad = Vec::new();
    for t in &traces {
        assert!(!t.steps.is_empty(), "{name} call {}: no steps", t.call);
        assert_eq!(
            t.steps.len() as u64,
            t.insns_executed,
            "{name}: every step kept"
        );
        assert!(!t.unverified);
        if let Some(d) = &t.disagreement {
            bad.push(format!("{name} call {}: {d}", t.call));
        }
        if let Some(e) = &t.error {
            bad.push(format!("{name} call {}: tracer error {e}", t.call));
        }
    }
    if report.reads[0].read_error.is_none() {
        assert!(
            traces.last().is_some_and(|t| t.is_stop),
            "{name}: the last call is the NULL call"
        );
    }
    (traces.len(), bad)
}

#[test]
fn every_example_traces_on_every_call_without_engine_disagreement() {
    let mut names: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    let (mut traced, mut bad) = (0, Vec::new());
    for path in &names {
        let sc = Scenario::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
        let obj = std::fs::read(examples_dir().join(&sc.program)).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let (n, b) = trace_scenario(&name, &sc, &obj, &RunOptions::default());
        traced += n;
        bad.extend(b);
    }
    eprintln!("{traced} example calls traced");
    assert!(traced > 50, "only {traced} calls traced");
    assert!(bad.is_empty(), "engine disagreements:\n{}", bad.join("\n"));
}

#[test]
fn every_recorded_case_traces_without_engine_disagreement() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(kernel_dir())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("case.json").exists())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 26);
    let (mut traced, mut bad) = (0, Vec::new());
    for dir in &dirs {
        let sc =
            Scenario::from_json(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
        let want: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        let obj = std::fs::read(dir.join("prog.bpf.o")).unwrap();
        let opts = RunOptions {
            ncpus: want["ncpus"].as_u64().unwrap_or(2) as u32,
            hash_seed: Some(7),
            ..RunOptions::default()
        };
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let (n, b) = trace_scenario(&name, &sc, &obj, &opts);
        traced += n;
        bad.extend(b);
    }
    eprintln!("{traced} recorded-case calls traced");
    assert!(traced > 200, "only {traced} calls traced");
    assert!(bad.is_empty(), "engine disagreements:\n{}", bad.join("\n"));
}

fn example(name: &str) -> (Scenario, Vec<u8>) {
    let sc = Scenario::from_json(
        &std::fs::read_to_string(examples_dir().join(format!("{name}.json"))).unwrap(),
    )
    .unwrap();
    let obj = std::fs::read(examples_dir().join(&sc.program)).unwrap();
    (sc, obj)
}

/// A one-element hash map scenario around the object assembled from `src`.
fn asm_scenario(src: &str) -> (Scenario, Vec<u8>) {
    let out = iterscope_emulator::asm::assemble(src).unwrap();
    let obj = iterscope_emulator::asm::write_object(&out);
    let sc = Scenario::from_json(
        r#"{"program":"p.o","map":{"type":"hash","key_size":4,"value_size":8,"max_entries":4,
        "flags":64,"entries":[{"key":"01000000","value":"0200000000000000"}]}}"#,
    )
    .unwrap();
    (sc, obj)
}

/// Traces call `call` with the default options and limits.
fn trace_one(sc: &Scenario, obj: &[u8], call: u64, no_verify: bool) -> Result<Trace, Error> {
    trace_call(
        sc,
        obj,
        "prog",
        &RunOptions::default(),
        call,
        &TraceLimits::default(),
        no_verify,
    )
}

#[test]
fn a_step_records_registers_memory_helpers_lines_and_verifier_types() {
    let (sc, obj) = example("hash_dump");
    let t = trace_one(&sc, &obj, 1, false).unwrap();
    assert_eq!(t.engine, EngineKind::Rbpf);
    assert_eq!(t.disagreement, None);
    assert_eq!((t.call, t.seq_num, t.is_stop), (1, 1, false));
    assert_eq!(t.stack.len(), 512);
    assert!(!t.output.is_empty());
    assert_eq!(t.key.as_ref().map(Vec::len), Some(4));
    // the first step sees r1 = ctx and r10 = the end of the stack
    let first = &t.steps[0];
    assert_eq!(first.pc, 0);
    assert!(
        first.line.as_deref().is_some_and(|l| l.contains(" @ ")),
        "{first:?}"
    );
    // some step reads the key through its rdonly_buf pointer, with the verifier's type shown
    let key_read = t
        .steps
        .iter()
        .find(|s| {
            s.mem
                .iter()
                .any(|m| m.region == RegionKind::Key && !m.write)
        })
        .expect("the key is read");
    let a = key_read
        .mem
        .iter()
        .find(|m| m.region == RegionKind::Key)
        .unwrap();
    assert_eq!(a.offset, 0);
    let types = &t.verifier_regs[key_read.pc];
    assert!(
        types
            .iter()
            .flatten()
            .any(|ty| ty.starts_with("rdonly_buf(")),
        "{types:?}"
    );
    // the context is read at its key field (offset 16)
    assert!(t.steps.iter().any(|s| s
        .mem
        .iter()
        .any(|m| m.region == RegionKind::Ctx && m.offset == 16 && m.size == 8)));
    // the printf is a helper step with its name and result
    let h = t
        .steps
        .iter()
        .find_map(|s| s.helper.as_ref())
        .expect("a helper call");
    assert_eq!((h.id, h.name.as_str(), h.ret), (126, "bpf_seq_printf", 0));
    // registers chain from step to step
    for w in t.steps.windows(2) {
        assert_eq!(w[0].regs, w[1].regs_before);
    }
    assert_eq!(t.steps.last().unwrap().regs[0], t.ret);
}

#[test]
fn atomics_run_on_the_tracer_with_linux_results() {
    let (sc, obj) = example("atomic_count");
    let report = run_scenario(&sc, &obj, "atomic_count", &RunOptions::default()).unwrap();
    assert_eq!(report.engine, EngineKind::Tracer);
    assert_eq!(report.to_json()["engine"], "tracer");
    let t = trace_call(
        &sc,
        &obj,
        "atomic_count",
        &RunOptions::default(),
        2,
        &TraceLimits::default(),
        false,
    )
    .unwrap();
    assert_eq!(t.engine, EngineKind::Tracer);
    assert_eq!(t.disagreement, None);
    // `pos = __sync_fetch_and_add(&count, 1)` on call 2 reads 2 and writes 3 in .bss
    let step = t
        .steps
        .iter()
        .find(|s| s.insn.contains("atomic64_fetch_add"))
        .expect("the fetching add ran");
    let accesses: Vec<(bool, u64)> = step.mem.iter().map(|m| (m.write, m.value)).collect();
    assert_eq!(accesses, vec![(false, 2), (true, 3)]);
    assert!(step
        .mem
        .iter()
        .all(|m| m.region == RegionKind::Global(".bss".into())));
    assert_eq!(t.output, b"#2 key 2 value 0\n");
}

#[test]
fn the_step_cap_truncates_and_the_budget_stops_an_endless_loop() {
    let (sc, obj) = example("hash_dump");
    let capped = TraceLimits {
        max_insns: 1_000_000,
        max_steps: 3,
    };
    let t = trace_call(&sc, &obj, "prog", &RunOptions::default(), 0, &capped, false).unwrap();
    assert_eq!(t.steps.len(), 3);
    assert!(t.truncated);
    assert!(t.insns_executed > 3);
    assert_eq!(t.disagreement, None, "the cap does not change the run");

    // `l: goto l` is refused by the verifier; in teaching mode the budget stops it.
    let (sc, obj) = asm_scenario(
        ".section \"iter/bpf_map_elem\"\nspin:\n    r0 = 0\nloop:\n    goto loop\n    exit\n",
    );
    let limits = TraceLimits {
        max_insns: 5_000,
        max_steps: 100,
    };
    assert!(matches!(
        trace_call(&sc, &obj, "p", &RunOptions::default(), 0, &limits, false),
        Err(Error::Trace(TraceError::Rejected { .. }))
    ));
    let t = trace_call(&sc, &obj, "p", &RunOptions::default(), 0, &limits, true).unwrap();
    assert!(t.unverified);
    assert!(t.truncated);
    assert_eq!(t.insns_executed, 5_000);
    assert_eq!(t.steps.len(), 100);
    assert!(
        t.error.as_deref().is_some_and(|e| e.contains("budget")),
        "{:?}",
        t.error
    );
    assert!(t.verifier_error.is_some(), "{:?}", t.verifier_error);
}

#[test]
fn teaching_mode_shows_the_key_corrupted_by_a_write() {
    let (sc, obj) = example("write_key_rejected");
    let t = trace_one(&sc, &obj, 0, true).unwrap();
    assert!(t.unverified);
    assert_eq!(t.engine, EngineKind::Tracer);
    assert_eq!(
        t.verifier_error.as_deref(),
        Some("R1 cannot write into rdonly_buf")
    );
    let w = t
        .steps
        .iter()
        .flat_map(|s| &s.mem)
        .find(|m| m.write && m.region == RegionKind::Key)
        .expect("a store into the key");
    assert_eq!((w.offset, w.size, w.value), (0, 4, 9));
    // the element's key in the map is now 9 (it was 1)
    assert_eq!(
        t.key.as_deref(),
        Some(&[1u8, 0, 0, 0][..]),
        "key as the call saw it"
    );
}
