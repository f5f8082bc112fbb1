//! The instruction stepper (`trace`): every example scenario and every recorded kernel case
//! traced on every call (a sample for the 100k-element case) with rbpf and the tracing
//! interpreter agreeing; the instruction budget and the step cap; teaching mode.

mod common;

use std::path::{Path, PathBuf};

use iterscope_emulator::scenario::{run_scenario, RunOptions, Scenario};
use iterscope_emulator::trace::{trace_calls, TraceLimits};

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
