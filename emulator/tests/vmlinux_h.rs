//! The project's own minimal `examples/vmlinux.h` is enough for every recorded kernel case:
//! each `prog.bpf.c` compiled against it (instead of the kernel's full BTF dump) loads,
//! attaches and reads exactly as Linux recorded. CO-RE relocations carry the difference in
//! struct layouts. Needs clang; skips with a message without it.

use std::path::Path;
use std::process::Command;

use iterscope_emulator::scenario::{run_scenario, RunOptions, Scenario};
use serde_json::Value;

#[test]
fn every_recorded_case_builds_against_the_minimal_vmlinux_h() {
    if Command::new("clang").arg("--version").output().is_err() {
        eprintln!("SKIP: clang is not installed");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let include = root.join("../examples");
    let out_dir = std::env::temp_dir().join(format!("iterscope-vmlinux-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(root.join("tests/kernel")).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join("case.json").exists() {
            continue;
        }
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let obj = out_dir.join(format!("{name}.o"));
        let st = Command::new("clang")
            .args([
                "-O2",
                "-g",
                "-target",
                "bpf",
                "-D__TARGET_ARCH_x86",
                "-DORACLE_NCPUS=2",
            ])
            .arg(format!("-I{}", include.display()))
            .arg("-I/usr/include")
            .arg("-c")
            .arg(dir.join("prog.bpf.c"))
            .arg("-o")
            .arg(&obj)
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&st.stderr)
        );
        let sc =
            Scenario::from_json(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
        let want: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        let got = run_scenario(
            &sc,
            &std::fs::read(&obj).unwrap(),
            "prog",
            &RunOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .to_json();
        for field in ["load", "verifier_error", "attach"] {
            assert_eq!(got[field], want[field], "{name}: {field}");
        }
        let lens = |v: &Value| -> Vec<Value> {
            v["reads"]
                .as_array()
                .map(|a| a.iter().map(|r| r["len"].clone()).collect())
                .unwrap_or_default()
        };
        assert_eq!(lens(&got), lens(&want), "{name}: read lengths");
        if let Some(text) = want["output"].as_str() {
            if !sc.order_insensitive {
                assert_eq!(got["output"].as_str(), Some(text), "{name}: output");
            }
        }
        checked += 1;
    }
    assert!(checked >= 26, "{checked} cases");
}
