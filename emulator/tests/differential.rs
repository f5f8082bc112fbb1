//! Differential tests against the running kernel: each example scenario is run on Linux
//! with `bpftool` (map create, update, `iter pin`, read the pinned iterator) and on the
//! emulator, and the outputs must be identical byte for byte.
//!
//! Needs root, BPF, BTF (`/sys/kernel/btf/vmlinux`), `bpftool` and a bpffs (mounted here if
//! missing). Where any of that is unavailable the test says so and passes without
//! comparing: it cannot run on such a machine, and the recorded cases in `tests/kernel/`
//! still cover the same ground there.

use std::path::{Path, PathBuf};
use std::process::Command;

use iterscope_emulator::scenario::{run_scenario, Entries, HexValue, RunOptions, Scenario};

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
