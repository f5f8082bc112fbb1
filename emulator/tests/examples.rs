//! Every example in `examples/` loads, runs and prints what its scenario implies. The
//! expected texts were derived from the scenarios by hand (sums, counts, the zero-seed bucket
//! order that `tests/maps.rs` checks against Linux's recorded orders).

use std::path::{Path, PathBuf};

use iterscope_emulator::scenario::{run_scenario, RunOptions, Scenario};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn run(name: &str) -> String {
    let dir = examples();
    let sc =
        Scenario::from_json(&std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap())
            .unwrap();
    let obj = std::fs::read(dir.join(&sc.program)).unwrap();
    let report = run_scenario(&sc, &obj, name, &RunOptions::default()).unwrap();
    assert_eq!(report.attach.as_deref(), Some("ok"));
    String::from_utf8(report.output().to_vec()).unwrap()
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
    assert!(n >= 3);
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
