//! The assembler and the ELF writer: every example and every kernel-recorded case goes
//! through disassemble → assemble → write → load → run and gives back the same instructions
//! and the same output; the `.s` fixtures assemble (and `llvm-objdump -d` reads them when
//! installed); the assembly examples print exactly what they should; garbage never panics.

use std::path::{Path, PathBuf};

use iterscope_emulator::asm::{self, assemble, write_object, AsmErrorKind};
use iterscope_emulator::elf;
use iterscope_emulator::scenario::{run_scenario, RunOptions, Scenario};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// (scenario, object path, object name) of every example and recorded case.
fn objects() -> Vec<(PathBuf, PathBuf, String)> {
    let mut out = Vec::new();
    let ex = root().join("examples");
    for e in std::fs::read_dir(&ex).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if let Some(stem) = name.strip_suffix(".bpf.o") {
            out.push((ex.join(format!("{stem}.json")), p.clone(), stem.to_string()));
        }
    }
    let kdir = root().join("emulator/tests/kernel");
    for e in std::fs::read_dir(&kdir).unwrap() {
        let d = e.unwrap().path();
        if d.join("prog.bpf.o").exists() {
            out.push((
                d.join("case.json"),
                d.join("prog.bpf.o"),
                "prog".to_string(),
            ));
        }
    }
    out.sort();
    out
}

/// Instruction bytes with the immediates of relocated `ld_imm64`s cleared (they are zero
/// after loading anyway; this keeps the comparison honest if that changes).
fn insns_modulo_relocs(p: &elf::Program) -> Vec<u8> {
    let mut b = p.insns.clone();
    for r in &p.relocs {
        b[r.insn * 8 + 4..r.insn * 8 + 8].fill(0);
        b[r.insn * 8 + 12..r.insn * 8 + 16].fill(0);
    }
    b
}

#[test]
fn round_trip_examples_and_kernel_cases() {
    let opts = RunOptions {
        hash_seed: Some(7),
        ..RunOptions::default()
    };
    let (mut objs, mut progs, mut insns, mut runs, mut kernel_texts) = (0, 0, 0, 0, 0);
    for (case, path, name) in objects() {
        let bytes = std::fs::read(&path).unwrap();
        let orig = elf::parse(&bytes, &name).unwrap();
        let text = asm::object_to_asm(&orig);
        let out = assemble(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()));
        let obj_bytes = write_object(&out);
        let back = elf::parse(&obj_bytes, &name)
            .unwrap_or_else(|e| panic!("{}: reload: {e}\n{text}", path.display()));
        objs += 1;
        assert_eq!(back.maps, orig.maps, "{}", path.display());
        assert_eq!(back.globals, orig.globals, "{}", path.display());
        assert_eq!(
            back.programs.len(),
            orig.programs.len(),
            "{}",
            path.display()
        );
        for (a, b) in orig.programs.iter().zip(&back.programs) {
            assert_eq!(a.name, b.name, "{}", path.display());
            assert_eq!(a.section, b.section, "{}", path.display());
            assert_eq!(
                insns_modulo_relocs(a),
                insns_modulo_relocs(b),
                "{} {}:\n{text}",
                path.display(),
                a.name
            );
            assert_eq!(a.relocs, b.relocs, "{} {}", path.display(), a.name);
            progs += 1;
            insns += a.insn_count();
        }
        let Ok(sc_text) = std::fs::read_to_string(&case) else {
            continue;
        };
        let sc = Scenario::from_json(&sc_text).unwrap();
        let want = run_scenario(&sc, &bytes, &name, &opts);
        let got = run_scenario(&sc, &obj_bytes, &name, &opts);
        // Some cases fail in the emulator (they need the verifier): fail the same way.
        let (want, got) = match (want, got) {
            (Ok(w), Ok(g)) => (w, g),
            (w, g) => {
                assert_eq!(
                    g.map(|r| r.to_json()).map_err(|e| e.to_string()),
                    w.map(|r| r.to_json()).map_err(|e| e.to_string()),
                    "{}",
                    path.display()
                );
                runs += 1;
                continue;
            }
        };
        assert_eq!(got.to_json(), want.to_json(), "{}", path.display());
        runs += 1;
        // Against Linux where the case recorded plain text.
        let expected = case.with_file_name("expected.json");
        if let Ok(e) = std::fs::read_to_string(&expected) {
            let v: Value = serde_json::from_str(&e).unwrap();
            let dir = case
                .parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy();
            let needs_verifier = [
                "write_key_rejected",
                "missing_null_check",
                "key_read_past_size_attach_fails",
            ]
            .contains(&dir.as_ref());
            if let (Some(t), false, false) = (
                v["reads"][0]["text"].as_str(),
                sc.order_insensitive,
                needs_verifier,
            ) {
                assert_eq!(
                    String::from_utf8_lossy(got.reads[0].bytes.as_slice()),
                    t,
                    "{}",
                    path.display()
                );
                kernel_texts += 1;
            }
        }
    }
    eprintln!(
        "round trip: {objs} objects, {progs} programs, {insns} instructions, {runs} scenario runs, {kernel_texts} compared with kernel text"
    );
    assert!(objs >= 29 && runs >= 29 && kernel_texts >= 20);
}
