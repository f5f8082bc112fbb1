//! Every example in `examples/` loads, runs and prints what its scenario implies. The
//! expected texts were derived from the scenarios by hand (sums, counts, the zero-seed bucket
//! order that `tests/maps.rs` checks against Linux's recorded orders).

use std::path::{Path, PathBuf};

use iterscope_emulator::maps::DumpValue;
use iterscope_emulator::scenario::{
    hex_encode, run_scenario, Entries, Report, RunOptions, Scenario,
};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn scenario(name: &str) -> (Scenario, Vec<u8>) {
    let dir = examples();
    let sc =
        Scenario::from_json(&std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap())
            .unwrap();
    let obj = std::fs::read(dir.join(&sc.program)).unwrap();
    (sc, obj)
}

/// Runs an example with the default options (2 CPUs, as the kernel oracle's recordings).
fn report(name: &str) -> Report {
    let (sc, obj) = scenario(name);
    run_scenario(&sc, &obj, name, &RunOptions::default()).unwrap()
}

/// The first session's bytes of an example that must load and attach.
fn run_bytes(name: &str) -> Vec<u8> {
    let report = report(name);
    assert_eq!(report.load, "ok", "{name}");
    assert_eq!(report.attach.as_deref(), Some("ok"), "{name}");
    report.output().to_vec()
}

fn run(name: &str) -> String {
    String::from_utf8(run_bytes(name)).unwrap()
}

/// `(key, value)` hex pairs of the map dumped after the reads (`dump_map_after`).
fn map_after(report: &Report) -> Vec<(String, String)> {
    report
        .map_after
        .as_ref()
        .expect("scenario has dump_map_after")
        .iter()
        .map(|(k, v)| {
            let v = match v {
                DumpValue::Single(b) => hex_encode(b),
                DumpValue::PerCpu(list) => list
                    .iter()
                    .map(|b| hex_encode(b))
                    .collect::<Vec<_>>()
                    .join(","),
            };
            (hex_encode(k), v)
        })
        .collect()
}

#[test]
fn array_sum() {
    assert_eq!(
        run("array_sum"),
        "[0] 5\n[2] 7\n[3] 1\n[5] 30\nsum=43 over 6 slots\n"
    );
}

#[test]
fn hash_dump() {
    assert_eq!(
        run("hash_dump"),
        "map dump_me (type 1, max 8)\n       2 -> 200\n       1 -> 100\n      42 -> 4200\n       3 -> 300\n4 elements, total 4800\n"
    );
}

#[test]
fn value_histogram() {
    assert_eq!(
        run("value_histogram"),
        "         1+ 1\n         2+ 2\n         8+ 1\n        16+ 1\n       128+ 1\n"
    );
}

// The examples below are written after the kernel's bpf_iter selftests
// (tools/testing/selftests/bpf/progs/bpf_iter_*.c); the sums are the ones those tests check.
// Hash orders are the zero-seed bucket orders (every scenario sets BPF_F_ZERO_SEED).

#[test]
fn selftest_hash_map() {
    assert_eq!(
        run("selftest_hash_map"),
        "map dump starts\n\
         (3 4 5) -> 6\n\
         (1 2 3) -> 4\n\
         (2 3 4) -> 5\n\
         key_sum_a=6 key_sum_b=9 key_sum_c=12 val_sum=15\n\
         map dump ends\n"
    );
}

#[test]
fn selftest_hash_map_empty_prints_both_frame_lines() {
    // On an empty map the stop call is call number 0, so it prints the header too.
    let (mut sc, obj) = scenario("selftest_hash_map");
    sc.map.entries = Entries::List(Vec::new());
    let r = run_scenario(&sc, &obj, "selftest_hash_map", &RunOptions::default()).unwrap();
    assert_eq!(
        String::from_utf8(r.output().to_vec()).unwrap(),
        "map dump starts\nkey_sum_a=0 key_sum_b=0 key_sum_c=0 val_sum=0\nmap dump ends\n"
    );
}

#[test]
fn selftest_hash_map_one_element_prints_the_header_twice() {
    // The stop call sees the last element's seq_num: 0 again when there is one element.
    let (mut sc, obj) = scenario("selftest_hash_map");
    if let Entries::List(list) = &mut sc.map.entries {
        list.truncate(1);
    }
    let r = run_scenario(&sc, &obj, "selftest_hash_map", &RunOptions::default()).unwrap();
    assert_eq!(
        String::from_utf8(r.output().to_vec()).unwrap(),
        "map dump starts\n(1 2 3) -> 4\nmap dump starts\nkey_sum_a=1 key_sum_b=2 key_sum_c=3 val_sum=4\nmap dump ends\n"
    );
}

#[test]
fn selftest_percpu_hash_map() {
    assert_eq!(
        run("selftest_percpu_hash_map"),
        "(3 4 5): cpu0=2 cpu1=3\n\
         (1 2 3): cpu0=0 cpu1=1\n\
         (2 3 4): cpu0=1 cpu1=2\n\
         key_sum_a=6 key_sum_b=9 key_sum_c=12 val_sum=9\n"
    );
}

#[test]
fn selftest_array_map() {
    let r = report("selftest_array_map");
    assert_eq!(r.attach.as_deref(), Some("ok"));
    // Three 12-byte records (u32 key, u64 value), then the totals record (key_sum 3, val_sum 15).
    let mut want = Vec::new();
    for (k, v) in [(0u32, 4u64), (1, 5), (2, 6), (3, 15)] {
        want.extend_from_slice(&k.to_le_bytes());
        want.extend_from_slice(&v.to_le_bytes());
    }
    assert_eq!(r.output(), &want[..]);
    // `*val = *key` wrote into the map itself.
    assert_eq!(
        map_after(&r),
        (0u32..3)
            .map(|i| (
                hex_encode(&i.to_le_bytes()),
                hex_encode(&u64::from(i).to_le_bytes())
            ))
            .collect::<Vec<_>>()
    );
}

#[test]
fn selftest_percpu_array_map() {
    assert_eq!(
        run("selftest_percpu_array_map"),
        "[0] 0 1\n[1] 1 2\n[2] 2 3\nkey_sum=3 val_sum=9\n"
    );
}

/// Zero-seed bucket order of the LRU survivors (the same order the kernel oracle recorded for
/// `lru_hash_overfill_16` and `lru_percpu_hash_overfill`).
const LRU_ORDER: [u32; 16] = [
    35, 37, 33, 29, 27, 32, 30, 25, 26, 28, 39, 31, 38, 40, 36, 34,
];

#[test]
fn lru_hash_survivors() {
    let r = report("lru_hash_survivors");
    assert_eq!(r.attach.as_deref(), Some("ok"));
    assert!(r.map_update_failures.is_empty());
    let keys: Vec<u32> = LRU_ORDER.iter().copied().filter(|&k| k <= 37).collect();
    let mut want: String = keys
        .iter()
        .map(|k| format!("key {k:2} value {}\n", k + 1000))
        .collect();
    want.push_str("13 of 16 survived, oldest surviving key 25\n");
    assert_eq!(String::from_utf8(r.output().to_vec()).unwrap(), want);
    assert_eq!(
        map_after(&r),
        keys.iter()
            .map(|&k| (
                hex_encode(&k.to_le_bytes()),
                hex_encode(&(k + 1000).to_le_bytes())
            ))
            .collect::<Vec<_>>()
    );
}

#[test]
fn lru_percpu_hash_survivors() {
    let r = report("lru_percpu_hash_survivors");
    assert_eq!(r.attach.as_deref(), Some("ok"));
    assert!(r.map_update_failures.is_empty());
    let mut want: String = LRU_ORDER
        .iter()
        .map(|k| format!("key {k:2}: cpu0={k} cpu1={}\n", k + 100))
        .collect();
    want.push_str("16 of 16 survived\n");
    assert_eq!(String::from_utf8(r.output().to_vec()).unwrap(), want);
    assert_eq!(
        map_after(&r),
        LRU_ORDER
            .iter()
            .map(|&k| (
                hex_encode(&k.to_le_bytes()),
                format!(
                    "{},{}",
                    hex_encode(&u64::from(k).to_le_bytes()),
                    hex_encode(&u64::from(k + 100).to_le_bytes())
                )
            ))
            .collect::<Vec<_>>()
    );
}

#[test]
fn key_read_past_size_loads_but_cannot_attach() {
    // Reads 4 bytes at key offset 12 of a 12-byte key. On Linux the program LOADS (the verifier
    // only records max_rdonly_access = 16) and the ATTACH fails with EACCES, with no read
    // session (the recorded kernel case key_read_past_size_attach_fails shows the same).
    let r = report("key_read_past_size");
    assert_eq!(r.load, "ok");
    assert_eq!(r.verifier_error, "");
    assert_eq!(
        r.attach.as_deref(),
        Some("failed: Permission denied (EACCES)")
    );
    assert!(r.reads.is_empty());
}

#[test]
fn key_read_past_size_fits_a_16_byte_key() {
    assert_eq!(
        run("key_read_past_size_16"),
        "key (4 5 6) 4th word 2\nkey (1 2 3) 4th word 40\nsum of 4th words: 42\n"
    );
}

#[test]
fn rejected_programs_are_rejected_as_linux_does() {
    for (name, line) in [
        ("write_key_rejected", "R1 cannot write into rdonly_buf"),
        (
            "missing_null_check",
            "R1 invalid mem access 'rdonly_buf_or_null'",
        ),
    ] {
        let r = report(name);
        assert_eq!(r.load, "rejected", "{name}");
        assert_eq!(r.verifier_error, line, "{name}");
        assert_eq!(r.load_error.as_deref(), Some("Permission denied"), "{name}");
        assert_eq!(r.attach, None, "{name}");
        assert!(r.reads.is_empty(), "{name}: nothing runs");
        assert!(
            r.verifier_log.contains(&format!("\n{line}\n")),
            "{name}: {}",
            r.verifier_log
        );
    }
}

#[test]
fn every_example_has_a_scenario_and_an_object() {
    let mut n = 0;
    for e in std::fs::read_dir(examples()).unwrap() {
        let p = e.unwrap().path();
        if p.to_string_lossy().ends_with(".bpf.c") {
            let stem = p
                .file_name()
                .unwrap()
                .to_string_lossy()
                .trim_end_matches(".bpf.c")
                .to_string();
            assert!(
                examples().join(format!("{stem}.bpf.o")).exists(),
                "{stem}.bpf.o"
            );
            assert!(
                examples().join(format!("{stem}.json")).exists(),
                "{stem}.json"
            );
            n += 1;
        }
    }
    assert!(n >= 12);
}

#[test]
fn objects_load_from_unaligned_bytes() {
    // include_bytes! and browser uploads give byte slices with no alignment guarantee.
    let obj = std::fs::read(examples().join("hash_dump.bpf.o")).unwrap();
    let mut shifted = vec![0u8; obj.len() + 1];
    shifted[1..].copy_from_slice(&obj);
    let parsed = iterscope_emulator::elf::parse(&shifted[1..], "hash_dump").unwrap();
    assert_eq!(parsed.programs.len(), 1);
}

/// `__sync_fetch_and_add` on a .bss counter. Expected text derived from Linux's semantics
/// (the kernel here refuses iterator loads under lockdown, EPERM, so it cannot be recorded):
/// an array map's iterator visits every index 0..max_entries in order, absent slots reading
/// as zero; the fetching add returns the counter's old value, so the elements are numbered
/// 0, 1, 2, 3; the plain atomic add sums 10 + 20 + 0 + 5; the NULL call prints both.
#[test]
fn atomic_count_numbers_elements_with_fetch_and_add() {
    assert_eq!(
        run("atomic_count"),
        "#0 key 0 value 10\n#1 key 1 value 20\n#2 key 2 value 0\n#3 key 3 value 5\n\
         4 elements, total 35\n"
    );
    assert_eq!(
        report("atomic_count").engine,
        iterscope_emulator::trace::EngineKind::Tracer
    );
}

#[test]
fn sk_storage_delete_all_empties_the_iterated_map() {
    let r = report("sk_storage_delete_all");
    assert_eq!((r.load.as_str(), r.attach.as_deref()), ("ok", Some("ok")));
    let mut lines: Vec<&str> = std::str::from_utf8(r.output()).unwrap().lines().collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        [
            "deleted 3",
            "port 28421 delete 0",
            "port 28422 delete 0",
            "port 28423 delete 0"
        ]
    );
    assert_eq!(r.reads[1].bytes, b"deleted 3\n");
    let after = r.sk_map_after.as_ref().expect("dump_map_after");
    assert!(after.iter().all(Option::is_none), "{after:?}");
}
