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
        // The reassembled object has no .BTF.ext, so its verifier log lacks source lines.
        let strip = |r: &iterscope_emulator::scenario::Report| {
            let mut j = r.to_json();
            if let Some(o) = j.as_object_mut() {
                o.remove("verifier_log");
            }
            j
        };
        assert_eq!(strip(&got), strip(&want), "{}", path.display());
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

fn fixtures() -> Vec<PathBuf> {
    let dir = root().join("emulator/tests/data/asm");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "s"))
        .collect();
    v.push(root().join("examples/asm_count.s"));
    v.push(root().join("examples/asm_hex_dump.s"));
    v.sort();
    v
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
    })
}

#[test]
fn fixtures_assemble_load_and_objdump_reads_them() {
    let objdump = which("llvm-objdump");
    if objdump.is_none() {
        eprintln!("llvm-objdump is not installed: skipping its check of the .s fixtures");
    }
    let tmp = std::env::temp_dir().join(format!("iterscope-asm-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    for p in fixtures() {
        let text = std::fs::read_to_string(&p).unwrap();
        let out = assemble(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let bytes = write_object(&out);
        let obj = elf::parse(&bytes, "prog").unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(!obj.programs.is_empty(), "{}", p.display());
        // Disassembling the loaded object and assembling that again is a fixed point.
        let again = write_object(&assemble(&asm::object_to_asm(&obj)).unwrap());
        let obj2 = elf::parse(&again, "prog").unwrap();
        for (a, b) in obj.programs.iter().zip(&obj2.programs) {
            assert_eq!(a.insns, b.insns, "{}", p.display());
            assert_eq!(a.relocs, b.relocs, "{}", p.display());
        }
        assert_eq!(obj.maps, obj2.maps);
        assert_eq!(obj.globals, obj2.globals);
        if let Some(od) = &objdump {
            let o = tmp.join("fixture.o");
            std::fs::write(&o, &bytes).unwrap();
            let r = std::process::Command::new(od)
                .args(["-d", "-r"])
                .arg(&o)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&r.stderr);
            assert!(
                r.status.success() && stderr.is_empty(),
                "{}: {stderr}",
                p.display()
            );
            let stdout = String::from_utf8_lossy(&r.stdout);
            assert!(
                stdout.contains("Disassembly of section iter/bpf_map_elem"),
                "{}: {stdout}",
                p.display()
            );
        }
    }
}

#[test]
fn syntax_fixture_encodes_as_expected() {
    let text = std::fs::read_to_string(root().join("emulator/tests/data/asm/syntax.s")).unwrap();
    let out = assemble(&text).unwrap();
    let obj = elf::parse(&write_object(&out), "prog").unwrap();
    assert_eq!(obj.license, "Dual MIT/GPL");
    assert_eq!(obj.maps.len(), 2);
    assert_eq!(
        (
            obj.maps[0].map_type,
            obj.maps[0].key_size,
            obj.maps[0].value_size
        ),
        (1, 4, 8)
    );
    assert_eq!(obj.maps[0].max_entries, 16);
    assert_eq!((obj.maps[1].map_type, obj.maps[1].value_size), (6, 16));
    let ro = obj.globals.iter().find(|g| g.section == ".rodata").unwrap();
    assert!(ro
        .data
        .starts_with(b"hi %d\n\t\"q\"\\ AA\0\x01\x02\xff\xff\x34\x12\xfe\xff\x07\0\0\0"));
    let data = obj.globals.iter().find(|g| g.section == ".data").unwrap();
    assert_eq!(
        data.data,
        [42, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
    );
    let bss = obj.globals.iter().find(|g| g.section == ".bss").unwrap();
    assert_eq!(bss.data.len(), 64);
    let p = obj.program("everything").unwrap();
    let lines = asm::disasm_linked(p, &obj);
    let text_of = |k: usize| lines.iter().find(|l| l.0 == k).unwrap().2.clone();
    // The three spellings of the same load give the same instruction.
    assert_eq!(p.insns[0..8], p.insns[8..16]);
    assert_eq!(p.insns[0..8], p.insns[16..24]);
    assert_eq!(text_of(0), "r2 = *(u64 *)(r1 +24)");
    let all: Vec<String> = lines.iter().map(|l| l.2.clone()).collect();
    for want in [
        "r3 = *(u32 *)(r1 -8)",
        "r5 = *(s8 *)(r1 +1)",
        "*(u8 *)(r10 -1) = 5",
        "*(u16 *)(r10 -4) = -3",
        "r4 s/= r5",
        "w4 s%= 9",
        "r0 = be16 r0",
        "r0 = le32 r0",
        "r0 = bswap64 r0",
        "r1 = (s8)r2",
        "w1 = (s16)w2",
        "r1 = 0x1234 ll",
        "r1 = 0x5 ll",
        "r1 = 0x1122334455667788 ll",
        "r1 = map[counts]",
        "r2 = map[.rodata][0]+0",
        "r2 = map[.rodata][0]+19",
        "r2 = map[.rodata][0]+12",
        "r3 = map[.bss][0]+0",
        "r3 = map[.bss][0]+8",
        "r4 = map[.data][0]+0",
        "lock *(u32 *)(r1 +8) |= w2",
        "w2 = atomic_fetch_or((u32 *)(r1 +4), w2)",
        "r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)",
        "if r2 > r3 goto pc+8",
        "if w1 s> w2 goto pc+8",
        "if w1 s>= 0xffffffff goto pc+7",
        "if r1 & 0x4 goto pc+1",
        "goto pc-3",
        "goto pc+0",
        "gotol pc+0",
        "call bpf_seq_printf#126",
        "call bpf_map_lookup_elem#1",
        "call pc+3",
        "call pc+1",
        "exit",
    ] {
        assert!(
            all.iter().any(|l| l == want),
            "missing {want:?} in {all:#?}"
        );
    }
    // `call helper` (same section, pc+3 from insn 87) and `call sub_in_text` (in `.text`,
    // linked after the program at 93) resolve to the right places.
    assert_eq!(text_of(87), "call pc+3");
    assert_eq!(text_of(89), "call pc+3");
    assert_eq!(text_of(93), "r0 = 1");
    assert_eq!(p.funcs.len(), 2);
    assert_eq!(p.funcs[1].name, "sub_in_text");
}

#[test]
fn pasted_logs_and_objdump_output_assemble() {
    let text =
        std::fs::read_to_string(root().join("emulator/tests/data/asm/pasted_log.s")).unwrap();
    let obj = elf::parse(&write_object(&assemble(&text).unwrap()), "prog").unwrap();
    let p = &obj.programs[0];
    assert_eq!(p.name, "dump");
    assert_eq!(p.insn_count(), 13);
    let lines = asm::disasm_linked(p, &obj);
    assert_eq!(lines[4].2, "r1 = map[hist]");
    assert_eq!(lines[5].2, "r2 = 0x5 ll");
    assert_eq!(lines[6].2, "r2 = map[.rodata][0]+0");
    let text = std::fs::read_to_string(root().join("emulator/tests/data/asm/objdump.s")).unwrap();
    let obj = elf::parse(&write_object(&assemble(&text).unwrap()), "prog").unwrap();
    let p = &obj.programs[0];
    assert_eq!(p.name, "dump");
    let texts: Vec<String> = asm::disasm_program(&p.insns)
        .into_iter()
        .map(|l| l.2)
        .collect();
    assert_eq!(
        texts,
        [
            "r2 = *(u64 *)(r1 +24)",
            "if r2 == 0x0 goto pc+2",
            "r0 = 1",
            "exit",
            "r0 = 0",
            "exit"
        ]
    );
}

#[test]
fn errors_name_line_and_column() {
    let cases: &[(&str, usize, usize)] = &[
        ("r0 = 0\nr11 = 1", 2, 1),
        ("  r0 = *(u65 *)(r1 +0)", 1, 10),
        ("r0 = *(u64 *)(r1 +70000)", 1, 18),
        ("goto nowhere", 1, 6),
        ("r1 = nothing ll", 1, 6),
        ("r0 = 0x1ffffffffffffffff", 1, 6),
        (".bss\nx: .long 5", 2, 4),
        (".rodata\n r0 = 0", 2, 2),
        ("x:\nx:", 2, 1),
        (".map m, type=nosuch, key=4", 1, 14),
        (".rodata\n.asciz \"open", 2, 13),
        (".frobnicate 3", 1, 1),
        ("if r1 ~ r2 goto +1", 1, 7),
        ("w1 = r2", 1, 6),
        ("exit now", 1, 6),
    ];
    for &(src, line, col) in cases {
        let e = assemble(src).expect_err(src);
        assert_eq!((e.line, e.col), (line, col), "{src:?}: {e}");
        assert!(e
            .to_string()
            .starts_with(&format!("line {line}, column {col}: ")));
    }
    assert!(matches!(
        assemble("goto nowhere").unwrap_err().kind,
        AsmErrorKind::UnknownLabel { .. }
    ));
}

#[test]
fn garbage_never_panics() {
    // A small deterministic generator (xorshift) over fragments of real syntax and noise.
    let frags = [
        "r1",
        "w2",
        "r10",
        "r11",
        "=",
        "+=",
        "s>>=",
        "*(",
        "u64",
        "s8",
        " *)",
        "(r1",
        "+",
        "-",
        "0x",
        "ffffffffffffffffff",
        "24",
        ")",
        "if",
        "goto",
        "pc",
        "+5",
        "call",
        "#",
        "#126",
        "bpf_seq_printf",
        "exit",
        "lock",
        "atomic64_cmpxchg(",
        ",",
        "map[",
        "]",
        "[0]",
        "ll",
        ".section",
        "\"",
        "\\",
        "\\x",
        ".asciz",
        ".byte",
        ".zero",
        "999999999",
        ".map",
        "type=",
        "key=",
        ":",
        "lbl",
        ";",
        "//",
        "\t",
        " ",
        "(18)",
        "0:",
        "<",
        ">",
        "é",
        "\u{0}",
        ".bss",
        ".rodata",
        ".text",
        ".globl",
        ".p2align",
        "40",
        "be16",
        "(s8)",
        "gotol",
    ];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..20_000 {
        let mut s = String::new();
        let n = next() % 12;
        for _ in 0..n {
            let f = frags[(next() % frags.len() as u64) as usize];
            s.push_str(f);
            if next() % 3 == 0 {
                s.push(' ');
            }
            if next() % 9 == 0 {
                s.push('\n');
            }
        }
        if let Ok(out) = assemble(&s) {
            let _ = elf::parse(&write_object(&out), "prog");
        }
    }
    // Real programs with one random edit per line (delete, duplicate or replace a byte).
    for p in fixtures() {
        let text = std::fs::read_to_string(&p).unwrap();
        for _ in 0..300 {
            let mut out = String::new();
            for line in text.lines() {
                let mut b = line.as_bytes().to_vec();
                if !b.is_empty() && next() % 4 == 0 {
                    let k = (next() % b.len() as u64) as usize;
                    match next() % 3 {
                        0 => {
                            b.remove(k);
                        }
                        1 => b.insert(k, b[k]),
                        _ => b[k] = b" -+x0f9()*:;#\"\\[]rw.#"[(next() % 21) as usize],
                    }
                }
                out.push_str(&String::from_utf8_lossy(&b));
                out.push('\n');
            }
            if let Ok(o) = assemble(&out) {
                let _ = elf::parse(&write_object(&o), "prog");
            }
        }
    }
    // Raw bytes as text.
    for _ in 0..2_000 {
        let bytes: Vec<u8> = (0..(next() % 64)).map(|_| next() as u8).collect();
        let s = String::from_utf8_lossy(&bytes);
        let _ = assemble(&s);
    }
}

fn run_example(name: &str) -> String {
    let dir = root().join("examples");
    let sc =
        Scenario::from_json(&std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap())
            .unwrap();
    // The committed object is what `iterscope asm` writes from the committed source.
    let src = std::fs::read_to_string(dir.join(format!("{name}.s"))).unwrap();
    let built = write_object(&assemble(&src).unwrap());
    let committed = std::fs::read(dir.join(&sc.program)).unwrap();
    assert_eq!(
        built, committed,
        "examples/{name}.o is stale: run iterscope asm"
    );
    let report = run_scenario(&sc, &committed, name, &RunOptions::default()).unwrap();
    assert_eq!(report.attach.as_deref(), Some("ok"));
    String::from_utf8(report.output().to_vec()).unwrap()
}

#[test]
fn asm_count_example() {
    assert_eq!(run_example("asm_count"), "5 elements, sum 42, map says 5\n");
}

#[test]
fn asm_hex_dump_example() {
    assert_eq!(
        run_example("asm_hex_dump"),
        "key      value\n00000000 00000000deadbeef\n00000001 0000000000000000\n00000002 0000000200000001\n"
    );
}

#[test]
fn cli_assembles_runs_and_disassembles_back() {
    let bin = env!("CARGO_BIN_EXE_iterscope");
    let tmp = std::env::temp_dir().join(format!("iterscope-asm-cli-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    // A scenario whose program is the .s itself.
    let sc = std::fs::read_to_string(root().join("examples/asm_hex_dump.json"))
        .unwrap()
        .replace("asm_hex_dump.o", "prog.s");
    std::fs::write(tmp.join("case.json"), sc).unwrap();
    std::fs::copy(root().join("examples/asm_hex_dump.s"), tmp.join("prog.s")).unwrap();
    let r = std::process::Command::new(bin)
        .arg("run")
        .arg(tmp.join("case.json"))
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(String::from_utf8_lossy(&r.stdout).contains("00000000 00000000deadbeef"));
    // asm -o, then disasm --asm, then asm again: the same object.
    let o1 = tmp.join("a.o");
    let r = std::process::Command::new(bin)
        .args(["asm"])
        .arg(tmp.join("prog.s"))
        .arg("-o")
        .arg(&o1)
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let r = std::process::Command::new(bin)
        .args(["disasm", "--asm"])
        .arg(&o1)
        .output()
        .unwrap();
    assert!(r.status.success());
    std::fs::write(tmp.join("b.s"), &r.stdout).unwrap();
    // Plain `disasm` output (with its `N: (op)` prefixes) re-assembles too.
    let r = std::process::Command::new(bin)
        .arg("disasm")
        .arg(&o1)
        .output()
        .unwrap();
    let plain = String::from_utf8_lossy(&r.stdout).to_string();
    let p1 = elf::parse(&std::fs::read(&o1).unwrap(), "a").unwrap();
    let b = elf::parse(
        &write_object(&assemble(&std::fs::read_to_string(tmp.join("b.s")).unwrap()).unwrap()),
        "a",
    )
    .unwrap();
    // Everything but BTF (data labels are not kept by the loader, so not printed back).
    assert_eq!(p1.programs, b.programs);
    assert_eq!(p1.maps, b.maps);
    assert_eq!(p1.globals, b.globals);
    assert_eq!(p1.license, b.license);
    let globals = asm::object_to_asm(&elf::Object {
        programs: Vec::new(),
        ..p1.clone()
    });
    let c = elf::parse(
        &write_object(&assemble(&format!("{globals}\n{plain}")).unwrap()),
        "a",
    )
    .unwrap();
    assert_eq!(c.programs[0].insns, p1.programs[0].insns);
    assert_eq!(c.programs[0].relocs, p1.programs[0].relocs);
    // Errors name the file, line and column.
    std::fs::write(tmp.join("bad.s"), "r0 = 0\n  r0 = *(u64 *)(r1 +0\n").unwrap();
    let r = std::process::Command::new(bin)
        .arg("asm")
        .arg(tmp.join("bad.s"))
        .output()
        .unwrap();
    assert!(!r.status.success());
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("bad.s: line 2, column 22: expected"), "{err}");
}

#[test]
fn llvm_objdump_output_of_our_objects_reassembles() {
    let Some(od) = which("llvm-objdump") else {
        eprintln!("llvm-objdump is not installed: skipping");
        return;
    };
    let tmp = std::env::temp_dir().join(format!("iterscope-asm-od-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    for name in ["asm_count", "asm_hex_dump"] {
        let src = std::fs::read_to_string(root().join(format!("examples/{name}.s"))).unwrap();
        let bytes = write_object(&assemble(&src).unwrap());
        let o = tmp.join(format!("{name}.o"));
        std::fs::write(&o, &bytes).unwrap();
        let r = std::process::Command::new(&od)
            .arg("-dr")
            .arg(&o)
            .output()
            .unwrap();
        assert!(r.status.success());
        // objdump prints code only: keep the source's data and map directives.
        let data = &src[..src.find(".section \"iter/bpf_map_elem\"").unwrap()];
        let text = format!("{data}\n{}", String::from_utf8_lossy(&r.stdout));
        let back = assemble(&text).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
        let a = elf::parse(&bytes, name).unwrap();
        let b = elf::parse(&write_object(&back), name).unwrap();
        assert_eq!(a.programs, b.programs, "{name}");
        assert_eq!(a.maps, b.maps, "{name}");
    }
}

#[test]
fn libbpf_reads_our_objects() {
    // bpftool's `gen object` runs libbpf's static linker (which checks sections, symbols,
    // relocations and that every global symbol has BTF) and `gen skeleton` runs
    // bpf_object__open (maps from `.maps` BTF, programs, global data). Neither needs a kernel.
    let Some(bpftool) = which("bpftool").or_else(|| {
        let p = PathBuf::from("/usr/sbin/bpftool");
        p.is_file().then_some(p)
    }) else {
        eprintln!("bpftool is not installed: skipping the libbpf check");
        return;
    };
    let tmp = std::env::temp_dir().join(format!("iterscope-asm-lbpf-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    for p in fixtures() {
        let out = assemble(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let o = tmp.join("in.o");
        std::fs::write(&o, write_object(&out)).unwrap();
        let r = std::process::Command::new(&bpftool)
            .args(["gen", "object"])
            .arg(tmp.join("linked.o"))
            .arg(&o)
            .output()
            .unwrap();
        assert!(
            r.status.success(),
            "{}: {}",
            p.display(),
            String::from_utf8_lossy(&r.stderr)
        );
        let r = std::process::Command::new(&bpftool)
            .args(["gen", "skeleton"])
            .arg(&o)
            .arg("name")
            .arg("prog")
            .output()
            .unwrap();
        assert!(
            r.status.success(),
            "{}: {}",
            p.display(),
            String::from_utf8_lossy(&r.stderr)
        );
        let skel = String::from_utf8_lossy(&r.stdout);
        for m in &out.maps {
            assert!(
                skel.contains(&format!("struct bpf_map *{};", m.name)),
                "{skel}"
            );
        }
    }
}

#[test]
fn kernel_verifier_logs_reassemble() {
    // The "Live regs before insn:" listing of each recorded kernel log is the whole program
    // as the kernel saw it (map and global addresses inlined as `ld_imm64` constants):
    // assembled, it gives the loaded program's instructions, modulo those constants.
    let mut n = 0;
    for (case, path, name) in objects() {
        let Ok(e) = std::fs::read_to_string(case.with_file_name("expected.json")) else {
            continue;
        };
        let v: Value = serde_json::from_str(&e).unwrap();
        let Some(log) = v["verifier_log"].as_str() else {
            continue;
        };
        let Some(start) = log.find("Live regs before insn:") else {
            continue;
        };
        let listing: Vec<&str> = log[start..]
            .lines()
            .skip(1)
            .take_while(|l| {
                let t = l.trim_start();
                t.split_once(": ").is_some_and(|(k, r)| {
                    let idx = k.split_whitespace().last().unwrap_or("");
                    idx.parse::<usize>().is_ok() && r.len() > 12
                }) && t.contains(") ")
            })
            .collect();
        let out = assemble(&listing.join("\n"))
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", path.display(), listing.join("\n")));
        let got = elf::parse(&write_object(&out), "prog").unwrap();
        let want = elf::parse(&std::fs::read(&path).unwrap(), &name).unwrap();
        let (g, w) = (&got.programs[0].insns, &want.programs[0].insns);
        assert_eq!(g.len(), w.len(), "{}", path.display());
        for k in 0..w.len() / 8 {
            let (gi, wi) = (&g[k * 8..k * 8 + 8], &w[k * 8..k * 8 + 8]);
            let relocated = want.programs[0]
                .relocs
                .iter()
                .any(|r| r.insn == k || r.insn + 1 == k);
            if relocated {
                // Same opcode and destination; the kernel printed the address.
                assert_eq!(gi[0], wi[0], "{} insn {k}", path.display());
                assert_eq!(gi[1] & 0x0f, wi[1] & 0x0f, "{} insn {k}", path.display());
            } else {
                assert_eq!(gi, wi, "{} insn {k}", path.display());
            }
        }
        n += 1;
    }
    eprintln!("{n} kernel verifier logs re-assembled");
    assert!(n >= 20, "{n}");
}

#[test]
fn clang_assembly_output_assembles() {
    let dir = root().join("emulator/tests/data/asm");
    let text = std::fs::read_to_string(dir.join("clang_s.s")).unwrap();
    let obj = elf::parse(&write_object(&assemble(&text).unwrap()), "prog").unwrap();
    assert_eq!(obj.license, "GPL");
    assert_eq!(obj.maps.len(), 1);
    assert_eq!(obj.maps[0].name, "total");
    let p = &obj.programs[0];
    assert_eq!(p.name, "noco");
    let funcs: Vec<&str> = p.funcs.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(funcs, ["noco", "bump"]);
    // With clang at hand, the same source compiled directly links to the same program.
    if which("clang").is_none() {
        eprintln!("clang is not installed: skipping the comparison with clang -c");
        return;
    }
    let tmp = std::env::temp_dir().join(format!("iterscope-asm-clang-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let o = tmp.join("clang_s.bpf.o");
    let r = std::process::Command::new("clang")
        .args(["-O2", "-g", "-target", "bpf", "-D__TARGET_ARCH_x86"])
        .arg(format!("-I{}", root().join("examples").display()))
        .arg("-I/usr/include")
        .arg("-c")
        .arg(dir.join("clang_s.bpf.c"))
        .arg("-o")
        .arg(&o)
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let want = elf::parse(&std::fs::read(&o).unwrap(), "prog").unwrap();
    assert_eq!(want.programs[0].insns, p.insns);
    assert_eq!(want.programs[0].relocs, p.relocs);
    assert_eq!(want.maps, obj.maps);
    assert_eq!(want.globals, obj.globals);
}
