//! Integration tests of the ELF loader on the kernel-recorded objects and the examples.

use std::fs;
use std::path::{Path, PathBuf};

use iterscope_emulator::elf::{self, Object, ProgramKind, RelocTarget};

fn kernel_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kernel")
}

fn kernel_cases() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in fs::read_dir(kernel_dir()).unwrap() {
        let p = e.unwrap().path();
        let o = p.join("prog.bpf.o");
        if o.exists() {
            out.push((
                p.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read(o).unwrap(),
            ));
        }
    }
    out.sort();
    assert_eq!(out.len(), 26);
    out
}

fn load(case: &str) -> Object {
    let bytes = fs::read(kernel_dir().join(case).join("prog.bpf.o")).unwrap();
    elf::parse(&bytes, "prog").unwrap()
}

#[test]
fn dump_all() {
    for (name, bytes) in kernel_cases() {
        let obj = elf::parse(&bytes, "prog").unwrap_or_else(|e| panic!("{name}: {e}"));
        eprintln!("{name}: progs={:?} maps={:?} globals={:?} relocs={:?}", obj.programs.iter().map(|p| (&p.name, &p.section, p.insn_count())).collect::<Vec<_>>(), obj.maps, obj.globals.iter().map(|g| (&g.section, &g.map_name, g.data.len())).collect::<Vec<_>>(), obj.programs[0].relocs);
    }
}
