//! The `iterscope` binary end to end: runs, JSON reports, timeouts, disassembly, and clear
//! errors (never a panic) for bad scenarios, maps and objects.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn iterscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_iterscope"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("iterscope runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn no_panic(o: &Output) {
    assert!(!stderr(o).contains("panicked"), "{}", stderr(o));
}

#[test]
fn run_prints_the_first_session_and_json_the_oracle_fields() {
    let o = iterscope(&["run", "examples/array_sum.json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "[0] 5\n[2] 7\n[3] 1\n[5] 30\nsum=43 over 6 slots\n"
    );
    let j = iterscope(&["run", "examples/array_sum.json", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
    assert_eq!(v["load"], "ok");
    assert_eq!(v["attach"], "ok");
    assert_eq!(v["reads"][0]["read_calls"], 2);
    assert_eq!(v["ncpus"], 2);
}

#[test]
fn run_an_object_against_a_map_file() {
    let dir = std::env::temp_dir().join(format!("iterscope-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let map = dir.join("map.json");
    std::fs::write(
        &map,
        r#"{"type":"array","key_size":4,"value_size":4,"max_entries":3,
            "entries":[{"key":"01000000","value":"09000000"}]}"#,
    )
    .unwrap();
    let o = iterscope(&[
        "run",
        "examples/array_sum.bpf.o",
        "--map",
        map.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "[1] 9\nsum=9 over 3 slots\n"
    );
}

#[test]
fn a_program_that_never_ends_is_refused_by_the_verifier() {
    let o = iterscope(&["run", "emulator/tests/fixtures/spin.json", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["load"], "rejected");
    assert_eq!(v["verifier_error"], "infinite loop detected at insn 2");
    assert_eq!(v["load_error"], "Invalid argument");
    assert_eq!(v["attach"], serde_json::Value::Null);
}

#[test]
fn a_run_longer_than_the_timeout_is_stopped() {
    let o = iterscope(&[
        "run",
        "emulator/tests/kernel/large_hash_100k/case.json",
        "--object",
        "emulator/tests/kernel/large_hash_100k/prog.bpf.o",
        "--timeout",
        "0.001",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["error"].as_str().unwrap().starts_with("timeout"), "{v}");
}

#[test]
fn disasm_prints_the_verifier_syntax() {
    let o = iterscope(&["disasm", "examples/array_sum.bpf.o"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("array_sum: SEC(\"iter/bpf_map_elem\")"),
        "{text}"
    );
    assert!(text.contains("(85) call bpf_seq_printf#126"), "{text}");
    assert!(text.contains("(79) r"), "{text}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("iterscope-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let obj = std::fs::read(root().join("examples/array_sum.bpf.o")).unwrap();
    std::fs::copy(
        root().join("examples/array_sum.bpf.o"),
        dir.join("ok.bpf.o"),
    )
    .unwrap();
    let cases: &[(&str, &str)] = &[
        ("{ not json", "not valid"),
        (
            r#"{"program":"ok.bpf.o","map":{"type":"btree","key_size":4,"value_size":4,"max_entries":1}}"#,
            "map.type",
        ),
        (
            r#"{"program":"ok.bpf.o","map":{"type":"hash","key_size":0,"value_size":4,"max_entries":1}}"#,
            "map create failed",
        ),
        (
            r#"{"program":"ok.bpf.o","map":{"type":"hash","key_size":4,"value_size":4,"max_entries":4294967295}}"#,
            "map create failed",
        ),
        (
            r#"{"program":"ok.bpf.o","map":{"type":"array","key_size":4,"value_size":4,"max_entries":2,"entries":[{"key":"0g000000","value":"00000000"}]}}"#,
            "map.entries[0].key",
        ),
        (
            r#"{"program":"ok.bpf.o","map":{"type":"array","key_size":4,"value_size":4,"max_entries":2,"entries":{"gen":"seq","count":99999999999}}}"#,
            "map.entries.count",
        ),
        (
            r#"{"program":"ok.bpf.o","map":{"type":"array","key_size":4,"value_size":4,"max_entries":2,"ops":[{"op":"frob","key":"00000000"}]}}"#,
            "map.ops[0].op",
        ),
        (
            r#"{"program":"missing.bpf.o","map":{"type":"array","key_size":4,"value_size":4,"max_entries":2}}"#,
            "cannot read",
        ),
        (
            r#"{"program":"trunc.bpf.o","map":{"type":"array","key_size":4,"value_size":4,"max_entries":2}}"#,
            "ELF",
        ),
    ];
    std::fs::write(dir.join("trunc.bpf.o"), &obj[..obj.len() / 3]).unwrap();
    for (i, (scenario, needle)) in cases.iter().enumerate() {
        let p = dir.join(format!("case{i}.json"));
        std::fs::write(&p, scenario).unwrap();
        let o = iterscope(&["run", p.to_str().unwrap()]);
        no_panic(&o);
        assert_eq!(o.status.code(), Some(1), "case {i}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains(needle),
            "case {i}: expected {needle:?} in {err:?}"
        );
    }
    let o = iterscope(&["run"]);
    assert_eq!(o.status.code(), Some(1));
    let o = iterscope(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
}
