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

#[test]
fn export_bpftool_prints_a_script_and_refuses_what_bpftool_cannot_write() {
    let o = iterscope(&["export-bpftool", "examples/hash_dump.json", "--cpus", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.starts_with("#!/bin/sh\n"), "{s}");
    assert!(s.contains(
        "bpftool map create \"$MAP\" type hash key 4 value 8 entries 8 name 'dump_me' flags 64"
    ));
    assert!(s.contains("OBJECT=${ITERSCOPE_OBJECT:-'examples/hash_dump.bpf.o'}"));
    assert!(s.contains("bpftool iter pin \"$OBJECT\" \"$ITER\" map pinned \"$MAP\""));
    // Per-CPU values that differ between CPUs: bpftool writes one value to every CPU.
    let o = iterscope(&["export-bpftool", "examples/selftest_percpu_array_map.json"]);
    no_panic(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("map.entries[0].value: the per-CPU values differ"));
    let o = iterscope(&["export-bpftool"]);
    assert_eq!(o.status.code(), Some(1));
}

/// The first 600 characters of `v`'s JSON (the maps can be large).
fn short(v: &serde_json::Value) -> String {
    v.to_string().chars().take(600).collect()
}

/// Possible CPUs of this machine (`/sys/devices/system/cpu/possible`, e.g. `0-1`).
fn possible_cpus() -> Option<u32> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/possible").ok()?;
    text.trim().split(',').try_fold(0, |n, r| {
        Some(
            n + match r.split_once('-') {
                Some((a, b)) => b.parse::<u32>().ok()? - a.parse::<u32>().ok()? + 1,
                None => 1,
            },
        )
    })
}

/// Why the kernel part cannot run here, if it cannot.
fn no_kernel_maps() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("not root".into());
    }
    let ok = Command::new("bpftool").arg("version").output();
    if !ok.is_ok_and(|o| o.status.success()) {
        return Some("bpftool is not installed".into());
    }
    if possible_cpus().is_none() {
        return Some("no /sys/devices/system/cpu/possible".into());
    }
    None
}

/// The emulator's map after the fill, in bpftool's `-j map dump` shape, and its failed
/// updates as the script names them (`map.entries[1]`).
fn emulator_dump(
    sc: &iterscope_emulator::scenario::Scenario,
    ncpus: u32,
) -> (serde_json::Value, Vec<String>) {
    use iterscope_emulator::maps::{DumpValue, MapLimits};
    let bytes = |b: &[u8]| -> Vec<String> { b.iter().map(|x| format!("0x{x:02x}")).collect() };
    let (map, failures) =
        iterscope_emulator::scenario::build_map(&sc.map, ncpus, sc.cpu, 0, &MapLimits::default())
            .unwrap();
    let failed = failures
        .iter()
        .map(|f| {
            let list = if f.kind == "op" { "ops" } else { "entries" };
            format!("map.{list}[{}]", f.index)
        })
        .collect();
    let dump = map
        .dump()
        .iter()
        .map(|(k, v)| match v {
            DumpValue::Single(v) => serde_json::json!({"key": bytes(k), "value": bytes(v)}),
            DumpValue::PerCpu(list) => serde_json::json!({
                "key": bytes(k),
                "values": list.iter().enumerate()
                    .map(|(c, v)| serde_json::json!({"cpu": c, "value": bytes(v)}))
                    .collect::<Vec<_>>(),
            }),
        })
        .collect();
    (dump, failed)
}

#[test]
fn export_bpftool_map_commands_fill_the_kernel_map_as_the_emulator_does() {
    if let Some(why) = no_kernel_maps() {
        eprintln!("skipping the kernel part of export-bpftool: {why} (needs root and bpftool)");
        return;
    }
    let ncpus = possible_cpus().unwrap();
    let dir = std::env::temp_dir().join(format!("iterscope-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scenarios: &[(&str, &str)] = &[
        (
            "hash",
            // Includes refused updates: a duplicate noexist, a full map (E2BIG), an exist on
            // a missing key, then deletes that free room for a later insert.
            r#"{"program":"p.bpf.o","map":{"type":"hash","name":"ex_hash","key_size":4,
            "value_size":8,"max_entries":4,"flags":64,"entries":[
              {"key":"01000000","value":"0a00000000000000"},
              {"key":"01000000","value":"0b00000000000000","flags":"noexist"},
              {"key":"02000000","value":"1400000000000000"},
              {"key":"03000000","value":"1e00000000000000"},
              {"key":"04000000","value":"2800000000000000"},
              {"key":"05000000","value":"3200000000000000"}],
            "ops":[{"op":"delete","key":"02000000"},
              {"op":"update","key":"09000000","value":"0100000000000000","flags":"exist"},
              {"op":"update","key":"05000000","value":"3300000000000000","flags":"noexist"},
              {"op":"update","key":"01000000","value":"0c00000000000000","flags":"exist"},
              {"op":"delete","key":"07000000"}]}}"#,
        ),
        (
            "hash_gen",
            r#"{"program":"p.bpf.o","map":{"type":"hash","name":"ex_gen","key_size":8,
            "value_size":12,"max_entries":1000,"flags":64,
            "entries":{"gen":"seq","count":1000,"start":5,"step":3,"mul":7,"add":11},
            "ops":[{"op":"delete","key":"0800000000000000"}]}}"#,
        ),
        (
            "percpu_array",
            r#"{"program":"p.bpf.o","map":{"type":"percpu_array","name":"ex_pcpu",
            "key_size":4,"value_size":12,"max_entries":4,"entries":[
              {"key":"00000000","value":"010000000200000003000000"},
              {"key":"02000000","value":"ffffffff0000000001000000"},
              {"key":"07000000","value":"010000000200000003000000"}],
            "ops":[{"op":"update","key":"03000000","value":"0a0000000b0000000c000000",
              "flags":"exist"}]}}"#,
        ),
    ];
    let mut cases: Vec<(String, String)> = scenarios
        .iter()
        .map(|(n, s)| (n.to_string(), s.to_string()))
        .collect();
    let lru = root().join("examples/lru_hash_survivors.json");
    cases.push((
        "lru_hash_survivors".into(),
        std::fs::read_to_string(lru).unwrap(),
    ));
    for (name, text) in cases {
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, &text).unwrap();
        let script = dir.join(format!("{name}.sh"));
        let cpus = ncpus.to_string();
        let o = iterscope(&[
            "export-bpftool",
            path.to_str().unwrap(),
            "--cpus",
            &cpus,
            "-o",
            script.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let run = Command::new("sh").arg(&script).arg("map").output().unwrap();
        assert!(run.status.success(), "{name}: {}", stderr(&run));
        let kernel: serde_json::Value = serde_json::from_slice(&run.stdout)
            .unwrap_or_else(|e| panic!("{name}: {e}: {}", String::from_utf8_lossy(&run.stdout)));
        let sc = iterscope_emulator::scenario::Scenario::from_json(&text).unwrap();
        // Zero-seed hash maps and arrays iterate in the same order on both.
        let (emulator, emulator_failed) = emulator_dump(&sc, ncpus);
        let kernel_failed: Vec<String> = stderr(&run)
            .lines()
            .filter_map(|l| l.strip_prefix("iterscope: map.")?.strip_suffix(" failed"))
            .map(|f| format!("map.{f}"))
            .collect();
        assert_eq!(kernel_failed, emulator_failed, "{name}: failed updates");
        assert!(
            kernel == emulator,
            "{name}: kernel map differs from the emulator's:\n kernel   {}\n emulator {}",
            short(&kernel),
            short(&emulator)
        );
        eprintln!(
            "{name}: kernel map matches ({} entries)",
            kernel.as_array().unwrap().len()
        );
    }
}

#[test]
fn trace_json_has_one_step_per_instruction() {
    let o = iterscope(&[
        "trace",
        "examples/hash_dump.json",
        "--element",
        "1",
        "--json",
    ]);
    no_panic(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["call"], 1);
    assert_eq!(v["engine"], "rbpf");
    assert_eq!(v["disagreement"], serde_json::Value::Null);
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps.len() as u64, v["insns_executed"].as_u64().unwrap());
    for s in steps {
        assert!(s["pc"].is_u64() && s["insn"].is_string(), "{s}");
        assert_eq!(s["regs"].as_array().unwrap().len(), 11);
        for m in s["mem"].as_array().unwrap() {
            for k in ["write", "region", "addr", "offset", "size", "value"] {
                assert!(m.get(k).is_some(), "{m}");
            }
        }
    }
    let helper = steps
        .iter()
        .find(|s| !s["helper"].is_null())
        .expect("a helper step");
    assert_eq!(helper["helper"]["name"], "bpf_seq_printf");
    assert_eq!(helper["helper"]["args"].as_array().unwrap().len(), 5);
    assert!(steps
        .iter()
        .flat_map(|s| s["mem"].as_array().unwrap())
        .any(|m| m["region"]["kind"] == "key"));

    let o = iterscope(&["trace", "examples/hash_dump.json", "--element", "99"]);
    no_panic(&o);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));

    let o = iterscope(&[
        "trace",
        "examples/write_key_rejected.json",
        "--element",
        "0",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--no-verify"), "{}", stderr(&o));
    let o = iterscope(&[
        "trace",
        "examples/write_key_rejected.json",
        "--element",
        "0",
        "--no-verify",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("UNVERIFIED"));
}
