//! Data-driven verifier cases: every `tests/data/verifier/*.s` carries its expected verdict
//! in header comments (`; expect: rejected|loaded`, `; errno:`, `; error:` — Linux's exact
//! error line —, `; attach:`, `; map: TYPE key=N value=N`, `; source:` where the behaviour
//! was verified, and `; recorded:` when the verdict was recorded from the kernel as a socket
//! filter, see `differential.rs`; `; map: sk_storage value=N` runs it over one socket with
//! storage). Each is assembled, loaded and attached against a map like
//! Linux would.

use std::path::Path;

use iterscope_emulator::asm::{assemble, write_object};
use iterscope_emulator::scenario::{run_scenario, RunOptions, Scenario};

fn header<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .filter_map(|l| l.strip_prefix("; "))
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(": ")))
        .map(str::trim)
}

#[test]
fn data_driven_verifier_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/verifier");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "s"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        let expect = header(&text, "expect").unwrap_or_else(|| panic!("{name}: no `; expect:`"));
        assert!(
            header(&text, "source").is_some(),
            "{name}: say where the behaviour comes from"
        );
        let (kind, ks, vs) = match header(&text, "map") {
            Some(m) => {
                let mut it = m.split_whitespace();
                let kind = it.next().unwrap().to_string();
                let mut ks = 4;
                let mut vs = 8;
                for kv in it {
                    match kv.split_once('=') {
                        Some(("key", v)) => ks = v.parse().unwrap(),
                        Some(("value", v)) => vs = v.parse().unwrap(),
                        _ => panic!("{name}: bad map header {m}"),
                    }
                }
                (kind, ks, vs)
            }
            None => ("hash".to_string(), 4, 8),
        };
        let out = assemble(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let obj = write_object(&out);
        // An sk_storage map (for `iter/bpf_sk_storage_map` cases) is created as the kernel
        // requires (max_entries 0, BPF_F_NO_PREALLOC) over one socket with storage.
        let sc = if kind == "sk_storage" {
            Scenario::from_json(&format!(
                r#"{{"program":"{name}.o","sockets":[{{"family":"inet","type":"stream"}}],
                "map":{{"type":"sk_storage","value_size":{vs},
                "storage":[{{"socket":0,"value":"{}"}}]}}}}"#,
                "00".repeat(vs)
            ))
        } else {
            Scenario::from_json(&format!(
                r#"{{"program":"{name}.o","map":{{"type":"{kind}","key_size":{ks},"value_size":{vs},"max_entries":4,"flags":64}}}}"#
            ))
        }
        .unwrap();
        let r = match run_scenario(&sc, &obj, &name, &RunOptions::default()) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{name}: emulator error {e}"));
                continue;
            }
        };
        let mut check = |what: &str, got: Option<&str>, want: Option<&str>| {
            if got != want {
                failures.push(format!("{name}: {what}: got {got:?}, want {want:?}"));
            }
        };
        match expect {
            "rejected" => {
                check("load", Some(r.load.as_str()), Some("rejected"));
                check(
                    "error",
                    Some(r.verifier_error.as_str()),
                    header(&text, "error"),
                );
                check("errno", r.load_error.as_deref(), header(&text, "errno"));
            }
            "loaded" => {
                check("load", Some(r.load.as_str()), Some("ok"));
                check("error", Some(r.verifier_error.as_str()), Some(""));
                check(
                    "attach",
                    r.attach.as_deref(),
                    Some(header(&text, "attach").unwrap_or("ok")),
                );
            }
            other => panic!("{name}: unknown expectation {other}"),
        }
    }
    eprintln!("{} verifier cases", files.len());
    assert!(files.len() >= 60);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
