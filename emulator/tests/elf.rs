//! Integration tests of the ELF loader (`iterscope_emulator::elf`) on the kernel-recorded
//! objects of `tests/kernel/` and on the project's examples.

use std::fs;
use std::path::{Path, PathBuf};

use iterscope_emulator::elf::core::{
    BPF_MAP_OFF_ID, BPF_MAP_OFF_MAP_TYPE, BPF_MAP_OFF_MAX_ENTRIES, BPF_MAP_OFF_NAME,
};
use iterscope_emulator::elf::{self, ElfError, Object, ProgramKind, RelocTarget};
use object::{Object as _, ObjectSection as _};

fn kernel_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kernel")
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// (case name, object bytes) of every recorded kernel case.
fn kernel_cases() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in fs::read_dir(kernel_dir()).unwrap() {
        let p = e.unwrap().path();
        let o = p.join("prog.bpf.o");
        if o.exists() {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            out.push((name, fs::read(o).unwrap()));
        }
    }
    out.sort();
    out
}

fn examples() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in fs::read_dir(examples_dir()).unwrap() {
        let p = e.unwrap().path();
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(stem) = n.strip_suffix(".bpf.o") {
            out.push((stem.to_owned(), fs::read(&p).unwrap()));
        }
    }
    out.sort();
    out
}

fn kernel_bytes(case: &str) -> Vec<u8> {
    fs::read(kernel_dir().join(case).join("prog.bpf.o")).unwrap()
}

fn example(name: &str) -> Object {
    let bytes = fs::read(examples_dir().join(format!("{name}.bpf.o"))).unwrap();
    elf::parse(&bytes, &format!("{name}.bpf.o")).unwrap()
}

/// File range of section `name`.
fn section_range(bytes: &[u8], name: &str) -> (usize, usize) {
    let file = object::File::parse(bytes).unwrap();
    let s = file.section_by_name(name).unwrap();
    let (off, len) = s.file_range().unwrap();
    (off as usize, len as usize)
}

struct Insn {
    opcode: u8,
    dst: u8,
    src: u8,
    off: i16,
    imm: i32,
}

fn insn(insns: &[u8], idx: usize) -> Insn {
    let b = &insns[idx * 8..idx * 8 + 8];
    Insn {
        opcode: b[0],
        dst: b[1] & 0xf,
        src: b[1] >> 4,
        off: i16::from_le_bytes([b[2], b[3]]),
        imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
    }
}

#[test]
fn all_kernel_objects_parse() {
    let cases = kernel_cases();
    assert_eq!(cases.len(), 26, "expected the 26 oracle cases");
    for (name, bytes) in &cases {
        let obj = elf::parse(bytes, "prog.bpf.o").unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(obj.programs.len(), 1, "{name}");
        let p = &obj.programs[0];
        assert_eq!(p.section, "iter/bpf_map_elem", "{name}");
        assert_eq!(p.kind, ProgramKind::IterBpfMapElem, "{name}");
        assert!(!p.sleepable, "{name}");
        assert_eq!(p.insns.len() % 8, 0);
        assert_eq!(obj.license, "GPL", "{name}");
        assert!(
            obj.maps.is_empty(),
            "{name}: no .maps in the oracle programs"
        );
        assert!(obj.btf.is_some(), "{name}");
        assert!(!p.line_info.is_empty(), "{name}: line_info");
        assert_eq!(p.funcs[0].insn, 0);
        assert_eq!(p.funcs[0].name, p.name);
        for r in &p.relocs {
            let i = insn(&p.insns, r.insn);
            assert_eq!(i.opcode, 0x18, "{name}: reloc on ld_imm64");
            assert_eq!((i.imm, insn(&p.insns, r.insn + 1).imm), (0, 0));
            match r.target {
                RelocTarget::Map(_) => panic!("{name}: unexpected map reloc"),
                RelocTarget::Global { global, offset } => {
                    assert_eq!(i.src, 2, "{name}: BPF_PSEUDO_MAP_VALUE");
                    assert!((offset as usize) < obj.globals[global].data.len());
                }
            }
        }
    }
}

/// Every `map=NAME,ks=4,vs=N` in the recorded verifier log is a global of that name and size.
#[test]
fn global_names_and_sizes_match_the_kernel_logs() {
    for (name, bytes) in kernel_cases() {
        let obj = elf::parse(&bytes, "prog").unwrap();
        let expected: serde_json::Value = serde_json::from_str(
            &fs::read_to_string(kernel_dir().join(&name).join("expected.json")).unwrap(),
        )
        .unwrap();
        let log = expected["verifier_log"].as_str().unwrap_or("");
        for chunk in log.split("map=").skip(1) {
            let mut fields = chunk.split([',', ')']);
            let map_name = fields.next().unwrap();
            let vs = fields
                .find_map(|f| f.strip_prefix("vs="))
                .unwrap()
                .parse::<usize>()
                .unwrap();
            let g = obj
                .globals
                .iter()
                .find(|g| g.map_name == map_name)
                .unwrap_or_else(|| panic!("{name}: no global {map_name}"));
            assert_eq!(g.data.len(), vs, "{name}: {map_name}");
            assert_eq!(g.readonly, g.section == ".rodata");
        }
    }
}

#[test]
fn hash_sum_struct_key_globals_and_relocs() {
    let obj = elf::parse(&kernel_bytes("hash_sum_struct_key"), "prog").unwrap();
    let sections: Vec<_> = obj.globals.iter().map(|g| g.section.as_str()).collect();
    assert_eq!(sections, [".rodata", ".bss"]);
    let bss = &obj.globals[1];
    assert_eq!(bss.map_name, "prog.bss");
    assert_eq!(bss.data, vec![0; 24], "tot_x, tot_y, tot_z, pad, tot_v");
    assert!(!bss.readonly);
    let rodata = &obj.globals[0];
    assert_eq!(rodata.map_name, "prog.rodata");
    assert!(rodata.readonly);
    assert!(rodata.data.starts_with(b"totals x=%u y=%u z=%u v=%llu\n\0"));
    assert_eq!(&rodata.data[30..], b"key=(%u,%u,%u) val=%llu\n\0");
    let p = &obj.programs[0];
    let mut bss_offsets: Vec<u64> = p
        .relocs
        .iter()
        .filter_map(|r| match r.target {
            RelocTarget::Global { global: 1, offset } => Some(offset),
            _ => None,
        })
        .collect();
    bss_offsets.sort_unstable();
    bss_offsets.dedup();
    assert_eq!(bss_offsets, [0, 4, 8, 16]);
    let rodata_offsets: Vec<u64> = p
        .relocs
        .iter()
        .filter_map(|r| match r.target {
            RelocTarget::Global { global: 0, offset } => Some(offset),
            _ => None,
        })
        .collect();
    assert_eq!(rodata_offsets, [0, 30]);
}

/// Kernel objects are built against the running kernel's vmlinux.h, so CO-RE must leave
/// every instruction as clang wrote it (apart from the relocated `ld_imm64`s).
#[test]
fn core_relocations_are_identity_on_kernel_objects() {
    for (name, bytes) in kernel_cases() {
        let obj = elf::parse(&bytes, "prog").unwrap();
        let p = &obj.programs[0];
        let (off, len) = section_range(&bytes, "iter/bpf_map_elem");
        let orig = &bytes[off..off + len];
        assert_eq!(orig.len(), p.insns.len(), "{name}");
        for i in 0..p.insn_count() {
            let is_reloc = p.relocs.iter().any(|r| r.insn == i || r.insn + 1 == i);
            if !is_reloc {
                assert_eq!(
                    &orig[i * 8..i * 8 + 8],
                    &p.insns[i * 8..i * 8 + 8],
                    "{name} insn {i}"
                );
            }
        }
        // and the object does carry CO-RE records for that section
        let (eoff, elen) = section_range(&bytes, ".BTF.ext");
        let (boff, blen) = section_range(&bytes, ".BTF");
        let ext =
            elf::btf::BtfExt::parse(&bytes[eoff..eoff + elen], &bytes[boff..boff + blen]).unwrap();
        let n: usize = ext.core_relo.iter().map(|s| s.records.len()).sum();
        assert!(
            n >= 2,
            "{name}: expected CO-RE records (ctx->meta, meta->seq ...)"
        );
    }
}

/// Zero the offsets clang wrote; the CO-RE pass must put the model's offsets back.
#[test]
fn core_relocations_patch_ctx_meta_and_map_name() {
    let mut bytes = kernel_bytes("header_footer_seqnum");
    let (off, _) = section_range(&bytes, "iter/bpf_map_elem");
    // insn 1: r7 = ctx->value (off 24); 2: r8 = ctx->key (16); 4: r9 = meta->seq_num (16);
    // 6: r1 = ctx->map (8); 7: r2 = 136 (offsetof(struct bpf_map, name)).
    for i in [1, 2, 4, 6] {
        bytes[off + i * 8 + 2] = 0x7f;
        bytes[off + i * 8 + 3] = 0;
    }
    bytes[off + 7 * 8 + 4] = 0x55;
    let obj = elf::parse(&bytes, "prog").unwrap();
    let p = &obj.programs[0];
    assert_eq!(
        (insn(&p.insns, 0).opcode, insn(&p.insns, 0).off),
        (0x79, 0),
        "ctx->meta"
    );
    assert_eq!(insn(&p.insns, 1).off, 24, "ctx->value");
    assert_eq!(insn(&p.insns, 2).off, 16, "ctx->key");
    assert_eq!(insn(&p.insns, 3).off, 0, "meta->seq");
    assert_eq!(insn(&p.insns, 4).off, 16, "meta->seq_num");
    assert_eq!(insn(&p.insns, 6).off, 8, "ctx->map");
    let mov = insn(&p.insns, 7);
    assert_eq!(
        (mov.opcode, mov.dst, mov.imm),
        (0xb7, 2, BPF_MAP_OFF_NAME as i32),
        "map->name"
    );
    assert_eq!(BPF_MAP_OFF_NAME, 136);
}

#[test]
fn line_info_points_at_source() {
    let obj = elf::parse(&kernel_bytes("header_footer_seqnum"), "prog").unwrap();
    let p = &obj.programs[0];
    let first = &p.line_info[0];
    assert_eq!(first.insn, 0);
    assert!(first.file.ends_with("prog.bpf.c"), "{}", first.file);
    assert!(p
        .line_info
        .iter()
        .any(|l| l.source.contains("BPF_SEQ_PRINTF(seq, \"=== header")));
    assert!(p.line_info.windows(2).all(|w| w[0].insn <= w[1].insn));
    assert!(p.line_info.iter().all(|l| l.insn < p.insn_count()));
}

#[test]
fn example_hash_dump_links_subprogram_and_relocates_bpf_map() {
    let obj = example("hash_dump");
    assert_eq!(obj.programs.len(), 1, ".text functions are not programs");
    let p = &obj.programs[0];
    assert_eq!(p.name, "hash_dump");
    assert_eq!(p.kind, ProgramKind::IterBpfMapElem);
    let names: Vec<_> = p.funcs.iter().map(|f| (f.name.as_str(), f.insn)).collect();
    assert_eq!(names, [("hash_dump", 0), ("print_elem", 63)]);
    assert_eq!(p.insn_count(), 63 + 16);
    // insn 60: call print_elem -> 63
    let call = insn(&p.insns, 60);
    assert_eq!((call.opcode, call.src, call.imm), (0x85, 1, 2));
    // CO-RE: the example's compact struct bpf_map is moved to the 6.18 offsets.
    assert_eq!(
        insn(&p.insns, 11).imm,
        BPF_MAP_OFF_NAME as i32,
        "map->name (mov imm)"
    );
    assert_eq!(insn(&p.insns, 5).off, BPF_MAP_OFF_ID as i16, "map->id");
    assert_eq!(
        insn(&p.insns, 15).off,
        BPF_MAP_OFF_MAP_TYPE as i16,
        "map->map_type"
    );
    assert_eq!(
        insn(&p.insns, 17).off,
        BPF_MAP_OFF_MAX_ENTRIES as i16,
        "map->max_entries"
    );
    assert_eq!(insn(&p.insns, 1).off, 24);
    assert_eq!(insn(&p.insns, 2).off, 16);
    // globals, with libbpf names
    let g: Vec<_> = obj
        .globals
        .iter()
        .map(|g| {
            (
                g.section.as_str(),
                g.map_name.as_str(),
                g.data.len(),
                g.readonly,
            )
        })
        .collect();
    assert_eq!(
        g,
        [
            (".data", "hash_dum.data", 8, false),
            (".rodata", "hash_dum.rodata", 64, true),
            (".bss", "hash_dum.bss", 16, false),
        ]
    );
    assert_eq!(obj.globals[0].data, 1u64.to_le_bytes());
    // the subprogram's reference to value_scale (.data) was relocated at its new place
    let r = p.relocs.iter().find(|r| r.insn == 63 + 3).unwrap();
    assert_eq!(
        r.target,
        RelocTarget::Global {
            global: 0,
            offset: 0
        }
    );
    let r = p.relocs.iter().find(|r| r.insn == 63 + 10).unwrap();
    assert_eq!(
        r.target,
        RelocTarget::Global {
            global: 1,
            offset: 51
        }
    );
    assert!(p
        .line_info
        .iter()
        .any(|l| l.insn >= 63 && l.source.contains("BPF_SEQ_PRINTF")));
}

#[test]
fn example_array_sum() {
    let obj = example("array_sum");
    let p = &obj.programs[0];
    assert_eq!(p.name, "array_sum");
    let rodata = obj.globals.iter().find(|g| g.section == ".rodata").unwrap();
    assert!(rodata.readonly);
    assert_eq!(rodata.map_name, "array_su.rodata");
    assert_eq!(&rodata.data[..4], &1u32.to_le_bytes(), "min_value");
    assert_eq!(
        insn(&p.insns, 12).off,
        BPF_MAP_OFF_MAX_ENTRIES as i16,
        "map->max_entries"
    );
}

#[test]
fn example_value_histogram_has_a_btf_map() {
    let obj = example("value_histogram");
    assert_eq!(obj.maps.len(), 1);
    let m = &obj.maps[0];
    assert_eq!(
        (
            m.name.as_str(),
            m.map_type,
            m.key_size,
            m.value_size,
            m.max_entries,
            m.map_flags
        ),
        ("hist", 2, 4, 8, 8, 0)
    );
    let p = &obj.programs[0];
    let map_relocs: Vec<_> = p
        .relocs
        .iter()
        .filter(|r| r.target == RelocTarget::Map(0))
        .collect();
    assert_eq!(map_relocs.len(), 2);
    for r in map_relocs {
        let i = insn(&p.insns, r.insn);
        assert_eq!((i.opcode, i.src), (0x18, 1), "BPF_PSEUDO_MAP_FD");
    }
}

#[test]
fn examples_all_parse_and_have_scenarios() {
    let ex = examples();
    assert!(ex.len() >= 3);
    for (name, bytes) in ex {
        let obj = elf::parse(&bytes, &name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = if name.starts_with("sk_storage") {
            ProgramKind::IterBpfSkStorageMap
        } else {
            ProgramKind::IterBpfMapElem
        };
        assert_eq!(obj.programs[0].kind, want);
        let scenario: serde_json::Value = serde_json::from_str(
            &fs::read_to_string(examples_dir().join(format!("{name}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(scenario["program"], format!("{name}.bpf.o"));
    }
}

#[test]
fn wrong_machine_is_rejected() {
    let mut bytes = kernel_bytes("array_sum");
    bytes[18] = 62; // EM_X86_64
    bytes[19] = 0;
    assert_eq!(
        elf::parse(&bytes, "prog"),
        Err(ElfError::WrongMachine { machine: 62 })
    );
}

#[test]
fn bad_btf_names_the_section_and_offset() {
    let mut bytes = kernel_bytes("array_sum");
    let (off, _) = section_range(&bytes, ".BTF");
    bytes[off] = 0;
    assert!(matches!(
        elf::parse(&bytes, "prog"),
        Err(ElfError::Btf {
            section: ".BTF",
            offset: 0,
            ..
        })
    ));
}

#[test]
fn relocation_out_of_range_names_the_section() {
    let mut bytes = kernel_bytes("array_sum");
    let (off, _) = section_range(&bytes, ".reliter/bpf_map_elem");
    // first Elf64_Rel: r_offset -> far past the section
    bytes[off..off + 8].copy_from_slice(&0x10_0000u64.to_le_bytes());
    match elf::parse(&bytes, "prog") {
        Err(ElfError::Relocation {
            section, offset, ..
        }) => {
            assert_eq!(section, "iter/bpf_map_elem");
            assert_eq!(offset, 0x10_0000);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn core_relocation_against_unmodelled_field_is_an_error() {
    // Rename the local member `id` of struct bpf_map to `ix` in the example's BTF strings.
    let mut bytes = fs::read(examples_dir().join("hash_dump.bpf.o")).unwrap();
    let (off, len) = section_range(&bytes, ".BTF");
    let btf = &mut bytes[off..off + len];
    let pos = btf.windows(4).position(|w| w == b"\0id\0").unwrap();
    btf[pos + 2] = b'x';
    match elf::parse(&bytes, "hash_dump") {
        Err(ElfError::CoreMissing {
            type_name,
            field,
            insn,
            section,
        }) => {
            assert_eq!((type_name.as_str(), field.as_str()), ("bpf_map", "ix"));
            assert_eq!((section.as_str(), insn), ("iter/bpf_map_elem", 5));
        }
        other => panic!("{other:?}"),
    }
}

/// xorshift64*: a deterministic PRNG for the corruption test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Truncated and corrupted objects give errors, never panics.
#[test]
fn corrupted_objects_never_panic() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut objects = kernel_cases();
    objects.extend(examples());
    let mut errors = 0usize;
    for (_, bytes) in &objects {
        // truncation at many offsets
        for _ in 0..64 {
            let cut = rng.below(bytes.len());
            if elf::parse(&bytes[..cut], "prog").is_err() {
                errors += 1;
            }
        }
        // random byte corruption, 1..=8 bytes, biased towards the headers and BTF
        for round in 0..200 {
            let mut b = bytes.clone();
            for _ in 0..=rng.below(8) {
                let at = if round % 2 == 0 {
                    rng.below(b.len())
                } else {
                    b.len() - 1 - rng.below(b.len().min(2048))
                };
                b[at] = match rng.below(4) {
                    0 => 0,
                    1 => 0xff,
                    _ => rng.next() as u8,
                };
            }
            if elf::parse(&b, "prog").is_err() {
                errors += 1;
            }
        }
    }
    assert!(errors > 0);
}

/// Byte offset and size of every named member of struct `id`, anonymous members flattened.
fn flat_members(btf: &elf::Btf, id: u32, base: u32, out: &mut Vec<(String, u32, Option<u32>)>) {
    use elf::btf::BtfKind;
    let ty = btf
        .type_by_id(btf.skip_mods_and_typedefs(id).unwrap())
        .unwrap();
    let (BtfKind::Struct { members, .. } | BtfKind::Union { members, .. }) = &ty.kind else {
        return;
    };
    for m in members {
        let off = base + m.bit_offset / 8;
        if m.name.is_empty() {
            flat_members(btf, m.ty, off, out);
        } else {
            out.push((m.name.clone(), off, btf.size_of(m.ty)));
        }
    }
}

/// On a 6.18 host, the kernel model agrees with `/sys/kernel/btf/vmlinux` (parsed with our
/// own BTF parser). Skipped elsewhere.
#[test]
fn kernel_model_matches_running_kernel_btf() {
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let Ok(raw) = fs::read("/sys/kernel/btf/vmlinux") else {
        eprintln!("skipped: no /sys/kernel/btf/vmlinux");
        return;
    };
    if !release.starts_with("6.18") {
        eprintln!("skipped: kernel {release} is not 6.18");
        return;
    }
    let btf = elf::Btf::parse(&raw).unwrap();
    for model in elf::core::KERNEL_TYPES {
        let id = btf
            .find_by_name(model.name, |k| {
                matches!(k, elf::btf::BtfKind::Struct { .. })
            })
            .unwrap_or_else(|| panic!("kernel has no struct {}", model.name));
        if model.fields.is_empty() {
            continue; // opaque
        }
        assert_eq!(btf.size_of(id), Some(model.size), "sizeof {}", model.name);
        let mut members = Vec::new();
        flat_members(&btf, id, 0, &mut members);
        for f in model.fields {
            let (_, off, size) = members
                .iter()
                .find(|m| m.0 == f.name)
                .unwrap_or_else(|| panic!("{}.{} not in kernel BTF", model.name, f.name));
            assert_eq!(
                (*off, *size),
                (f.offset, Some(f.size)),
                "{}.{}",
                model.name,
                f.name
            );
        }
    }
}

/// Every truncation of one object, and random corruption inside each BTF and relocation
/// section of every object, gives an error or a parse, never a panic.
#[test]
fn truncation_everywhere_and_section_corruption_never_panic() {
    let bytes = kernel_bytes("write_key_rejected");
    for cut in 0..bytes.len() {
        assert!(elf::parse(&bytes[..cut], "prog").is_err(), "cut at {cut}");
    }
    let mut rng = Rng(0x0bad_cafe_f00d_beef);
    let mut objects = kernel_cases();
    objects.extend(examples());
    for (_, bytes) in &objects {
        for section in [
            ".BTF",
            ".BTF.ext",
            ".reliter/bpf_map_elem",
            ".symtab",
            ".strtab",
        ] {
            let file = object::File::parse(&bytes[..]).unwrap();
            let Some((off, len)) = file.section_by_name(section).and_then(|s| s.file_range())
            else {
                continue;
            };
            let (off, len) = (off as usize, len as usize);
            if len == 0 {
                continue;
            }
            for _ in 0..60 {
                let mut b = bytes.clone();
                for _ in 0..=rng.below(4) {
                    let at = off + rng.below(len);
                    b[at] = rng.next() as u8;
                }
                let _ = elf::parse(&b, "prog");
            }
        }
    }
}
