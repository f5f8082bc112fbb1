//! Differential tests against the running kernel: each example scenario is run on Linux
//! with `bpftool` (map create, update, `iter pin`, read the pinned iterator) and on the
//! emulator, and the outputs must be identical byte for byte; and every data-driven verifier
//! case marked `; recorded:` is loaded again as a socket filter (see
//! `support/socket_filter.rs`) and the kernel must still give the verdict, error line and
//! errno its header states.
//!
//! Needs root, BPF, BTF (`/sys/kernel/btf/vmlinux`), `bpftool` and a bpffs (mounted here if
//! missing). Where any of that is unavailable the test says so and passes without
//! comparing: it cannot run on such a machine, and the recorded cases in `tests/kernel/`
//! still cover the same ground there.

use std::path::{Path, PathBuf};
use std::process::Command;

use iterscope_emulator::scenario::{run_scenario, Entries, HexValue, RunOptions, Scenario};

#[path = "support/socket_filter.rs"]
mod socket_filter;

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn ok(cmd: &mut Command) -> Result<Vec<u8>, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!("{cmd:?}: {}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// Why the kernel cannot be asked here, if it cannot.
fn unavailable() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"));
    if !root {
        return Some("not running as root".into());
    }
    if !Path::new("/sys/kernel/btf/vmlinux").exists() {
        return Some("the kernel has no BTF (/sys/kernel/btf/vmlinux)".into());
    }
    if ok(Command::new("bpftool").arg("version")).is_err() {
        return Some("bpftool is not installed".into());
    }
    let mounted = std::fs::read_to_string("/proc/mounts")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().nth(2) == Some("bpf"));
    if !mounted && ok(Command::new("mount").args(["-t", "bpf", "bpf", "/sys/fs/bpf"])).is_err() {
        return Some("cannot mount bpffs at /sys/fs/bpf".into());
    }
    None
}

/// `num_possible_cpus()` from `/sys/devices/system/cpu/possible` (`0-1` → 2).
fn possible_cpus() -> u32 {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/possible").unwrap_or_default();
    text.trim()
        .split(',')
        .map(|r| match r.split_once('-') {
            Some((a, b)) => b.parse::<u32>().unwrap_or(0) - a.parse::<u32>().unwrap_or(0) + 1,
            None => u32::from(!r.is_empty()),
        })
        .sum::<u32>()
        .max(1)
}

fn hex_bytes(h: &str) -> Vec<String> {
    (0..h.len() / 2)
        .map(|i| h[2 * i..2 * i + 2].to_string())
        .collect()
}

/// Runs `sc` on the kernel and returns the bytes of one `cat` of the iterator.
fn run_on_kernel(sc: &Scenario, obj: &Path, tag: &str) -> Result<Vec<u8>, String> {
    let map = format!("/sys/fs/bpf/iterscope_{tag}_{}_m", std::process::id());
    let it = format!("/sys/fs/bpf/iterscope_{tag}_{}_i", std::process::id());
    let cleanup = || {
        let _ = std::fs::remove_file(&map);
        let _ = std::fs::remove_file(&it);
    };
    cleanup();
    let result = (|| {
        let m = &sc.map;
        let name = m.name.clone().unwrap_or_else(|| "orc_map".into());
        ok(Command::new("bpftool").args([
            "map",
            "create",
            &map,
            "type",
            &m.kind,
            "key",
            &m.key_size.to_string(),
            "value",
            &m.value_size.to_string(),
            "entries",
            &m.max_entries.to_string(),
            "name",
            &name,
            "flags",
            &m.flags.to_string(),
        ]))?;
        if let Entries::List(list) = &m.entries {
            for e in list {
                let HexValue::One(v) = &e.value else {
                    return Err("per-CPU value lists cannot be written with bpftool".into());
                };
                let mut c = Command::new("bpftool");
                c.args(["map", "update", "pinned", &map, "key", "hex"]);
                c.args(hex_bytes(&e.key));
                c.args(["value", "hex"]);
                c.args(hex_bytes(v));
                ok(&mut c)?;
            }
        }
        ok(Command::new("bpftool")
            .args(["iter", "pin"])
            .arg(obj)
            .args([&it, "map", "pinned", &map]))?;
        std::fs::read(&it).map_err(|e| format!("read {it}: {e}"))
    })();
    cleanup();
    result
}

#[test]
fn examples_match_the_running_kernel() {
    if let Some(why) = unavailable() {
        eprintln!("SKIP differential tests against the kernel: {why}");
        return;
    }
    let mut compared = 0;
    let mut diffs = Vec::new();
    let mut scenarios: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .expect("examples/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    scenarios.sort();
    for path in scenarios {
        let sc = Scenario::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if !matches!(sc.map.entries, Entries::List(_))
            || !sc.map.ops.is_empty()
            || sc.order_insensitive
        {
            continue;
        }
        let obj = path.parent().unwrap().join(&sc.program);
        let tag = path
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .replace('.', "_");
        let opts = RunOptions {
            ncpus: possible_cpus(),
            ..RunOptions::default()
        };
        let report = run_scenario(&sc, &std::fs::read(&obj).unwrap(), &tag, &opts)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let emulator_runs = report.load == "ok" && report.attach.as_deref() == Some("ok");
        let kernel = match run_on_kernel(&sc, &obj, &tag) {
            Ok(k) => k,
            Err(e) if e.contains("per-CPU value lists") => continue,
            Err(e) if compared == 0 && e.contains("Operation not permitted") => {
                // Seen on sandboxed kernels: maps can be created but BPF_PROG_LOAD of a
                // tracing program fails with EPERM before verification.
                eprintln!("SKIP differential tests against the kernel: it refuses to load iterator programs (EPERM): {e}");
                return;
            }
            Err(e) if !emulator_runs => {
                // Both refuse: the load or the attach fails on Linux as in the emulator.
                assert!(
                    e.contains("Permission denied") || e.contains("Invalid argument"),
                    "{}: the kernel failed differently: {e}",
                    path.display()
                );
                compared += 1;
                continue;
            }
            Err(e) => panic!("{}: kernel run failed: {e}", path.display()),
        };
        if !emulator_runs {
            diffs.push(format!(
                "{}: the kernel ran it, the emulator said load {} attach {:?}",
                path.display(),
                report.load,
                report.attach
            ));
            continue;
        }
        if report.output() != kernel.as_slice() {
            diffs.push(format!(
                "{}:\n kernel:   {:?}\n emulator: {:?}",
                path.display(),
                String::from_utf8_lossy(&kernel),
                String::from_utf8_lossy(report.output())
            ));
        }
        compared += 1;
    }
    eprintln!("{compared} examples compared with the running kernel");
    assert!(compared > 0, "no example could be compared");
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

fn verifier_cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/verifier")
}

fn header<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .filter_map(|l| l.strip_prefix("; "))
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(": ")))
        .map(str::trim)
}

/// The `; recorded:` header for cases recorded on this kernel.
fn recorded_header() -> String {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let version = release.trim().split('-').next().unwrap_or("").to_string();
    format!(
        "linux {version}, loaded as socket_filter (iterator loads are refused here by lockdown)"
    )
}

/// `text` with its expect, errno, error and recorded headers set to the kernel's verdict.
fn rewrite_headers(text: &str, k: &socket_filter::KernelVerdict) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with("; errno:") || line.starts_with("; error:") {
            continue;
        }
        if line.starts_with("; expect:") {
            if k.accepted {
                out.push_str("; expect: loaded\n");
            } else {
                out.push_str("; expect: rejected\n");
                out.push_str(&format!("; errno: {}\n", k.errno.as_deref().unwrap_or("")));
                out.push_str(&format!("; error: {}\n", k.error));
            }
            continue;
        }
        if line.starts_with("; recorded:") {
            out.push_str(&format!("; recorded: {}\n", recorded_header()));
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Every case with a `; recorded:` header is loaded as a socket filter; the kernel must
/// agree with its `expect`, `error` and `errno` headers. With `ITERSCOPE_RECORD=report` every
/// case (recorded or not) is loaded and the kernel's verdict printed (and the whole log of
/// the case named by `ITERSCOPE_RECORD_LOG`); with
/// `ITERSCOPE_RECORD=write` the headers of the recorded cases are rewritten to the kernel's.
#[test]
fn recorded_verifier_cases_match_the_running_kernel() {
    if let Some(why) = socket_filter::unavailable() {
        eprintln!("SKIP re-recording verifier cases on the kernel: {why}");
        return;
    }
    let mode = std::env::var("ITERSCOPE_RECORD").unwrap_or_default();
    let mut files: Vec<PathBuf> = std::fs::read_dir(verifier_cases_dir())
        .expect("tests/data/verifier exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "s"))
        .collect();
    files.sort();
    let mut checked = 0;
    let mut diffs = Vec::new();
    for path in &files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        let recorded = header(&text, "recorded").is_some();
        if !recorded && mode != "report" {
            continue;
        }
        let k = socket_filter::record(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        if mode == "report" {
            if std::env::var("ITERSCOPE_RECORD_LOG").is_ok_and(|n| n == name) {
                eprintln!("{}", k.log);
            }
            eprintln!(
                "{name}{}: {} errno={:?} error={:?}",
                if recorded { " [recorded]" } else { "" },
                if k.accepted { "loaded" } else { "rejected" },
                k.errno,
                k.error
            );
        }
        if !recorded {
            continue;
        }
        if mode == "write" {
            let new = rewrite_headers(&text, &k);
            if new != text {
                eprintln!("{name}: headers rewritten to the kernel's verdict");
                std::fs::write(path, new).unwrap();
            }
            continue;
        }
        let want_accept = header(&text, "expect") == Some("loaded");
        let (want_error, want_errno) = if want_accept {
            ("", None)
        } else {
            (header(&text, "error").unwrap_or(""), header(&text, "errno"))
        };
        if k.accepted != want_accept || k.error != want_error || k.errno.as_deref() != want_errno {
            diffs.push(format!(
                "{name}: header says {} {want_errno:?} {want_error:?}; the kernel says {} {:?} {:?}",
                if want_accept { "loaded" } else { "rejected" },
                if k.accepted { "loaded" } else { "rejected" },
                k.errno,
                k.error
            ));
        }
        checked += 1;
    }
    eprintln!("{checked} recorded verifier cases re-checked on the running kernel");
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}
