//! The ELF writer: an [`AsmOutput`] into a relocatable ELF64 `EM_BPF` little-endian object
//! that [`crate::elf::parse`], libbpf and `llvm-objdump -d` read.
//!
//! Layout: the assembled code and data sections (`.bss` as `SHT_NOBITS`), `.maps` with one
//! 40-byte zeroed definition per map, `license`, a `.BTF` describing the maps the way
//! libbpf's BTF-defined maps are described (a `.maps` `DATASEC` of `VAR`s whose anonymous
//! struct has `type`, `key_size`, `value_size`, `max_entries` and `map_flags` members of type
//! `int (*)[N]`), one `.rel<section>` per section with relocations (`R_BPF_64_64` for
//! `ld_imm64`, `R_BPF_64_32` for calls between code sections), `.symtab`, `.strtab` and
//! `.shstrtab`. Written by hand rather than with the `object` crate's writer so the wasm build
//! needs no extra feature.
//!
//! `.BTF` also has a `char[size]` `VAR` per data label in a `DATASEC` per data section, and
//! an `int NAME(void *ctx)` `FUNC` per function, which libbpf's static linker asks for.
//!
//! Not here: real C types for data and functions, and `.BTF.ext` (`func_info`,
//! `line_info`, CO-RE records).

use super::parse::{AsmOutput, RelocKind, RelocRef, SectionKind};

const SHT_PROGBITS: u32 = 1;
const SHT_SYMTAB: u32 = 2;
const SHT_STRTAB: u32 = 3;
const SHT_NOBITS: u32 = 8;
const SHT_REL: u32 = 9;
const SHF_WRITE: u64 = 1;
const SHF_ALLOC: u64 = 2;
const SHF_EXECINSTR: u64 = 4;
const SHF_INFO_LINK: u64 = 0x40;
const STB_LOCAL: u8 = 0;
const STB_GLOBAL: u8 = 1;
const STT_OBJECT: u8 = 1;
const STT_FUNC: u8 = 2;
const STT_SECTION: u8 = 3;
const R_BPF_64_64: u64 = 1;
const R_BPF_64_32: u64 = 10;
/// Size of one map definition in `.maps`: five pointer members.
const MAP_DEF_SIZE: u64 = 40;
const MAP_MEMBERS: [&str; 5] = ["type", "key_size", "value_size", "max_entries", "map_flags"];

/// A string table under construction.
#[derive(Debug, Default)]
struct Strtab {
    bytes: Vec<u8>,
}

impl Strtab {
    fn new() -> Self {
        Strtab { bytes: vec![0] }
    }

    fn add(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let at = self.bytes.len() as u32;
        self.bytes.extend_from_slice(s.as_bytes());
        self.bytes.push(0);
        at
    }
}

#[derive(Debug)]
struct Shdr {
    name: String,
    sh_type: u32,
    flags: u64,
    data: Vec<u8>,
    /// `sh_size` for `SHT_NOBITS` (data is empty then).
    nobits_size: u64,
    link: u32,
    info: u32,
    align: u64,
    entsize: u64,
}

fn put_u16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn put_u32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn put_u64(v: &mut Vec<u8>, x: u64) {
    v.extend_from_slice(&x.to_le_bytes());
}

fn sym(v: &mut Vec<u8>, name: u32, bind: u8, ty: u8, shndx: u16, value: u64, size: u64) {
    put_u32(v, name);
    v.push((bind << 4) | ty);
    v.push(0);
    put_u16(v, shndx);
    put_u64(v, value);
    put_u64(v, size);
}

/// BTF type records under construction (ids from 1).
#[derive(Debug)]
struct BtfTypes {
    bytes: Vec<u8>,
    next_id: u32,
}

impl BtfTypes {
    /// Appends a `btf_type` header and returns its id; kind-specific data follows.
    fn ty(&mut self, name: u32, kind: u32, vlen: u32, size_or_type: u32) -> u32 {
        put_u32(&mut self.bytes, name);
        put_u32(&mut self.bytes, (kind << 24) | vlen);
        put_u32(&mut self.bytes, size_or_type);
        self.next_id += 1;
        self.next_id - 1
    }

    fn u32(&mut self, v: u32) {
        put_u32(&mut self.bytes, v);
    }
}

/// The `.BTF` section: the maps (libbpf's BTF-defined map layout), data labels and
/// functions.
fn maps_btf(out: &AsmOutput) -> Vec<u8> {
    let mut strs = Strtab::new();
    let mut t = BtfTypes {
        bytes: Vec::new(),
        next_id: 1,
    };
    let int_name = strs.add("int");
    let int = t.ty(int_name, 1, 0, 4);
    t.u32((1 << 24) | 32); // BTF_INT_SIGNED, 32 bits
    let idx_name = strs.add("__ARRAY_SIZE_TYPE__");
    let idx = t.ty(idx_name, 1, 0, 4);
    t.u32(32);
    // `int (*)[N]` per distinct N.
    let mut ptrs: Vec<(u32, u32)> = Vec::new();
    let member_names: Vec<u32> = MAP_MEMBERS.iter().map(|m| strs.add(m)).collect();
    let mut vars = Vec::new();
    for m in &out.maps {
        let vals = [
            m.map_type,
            m.key_size,
            m.value_size,
            m.max_entries,
            m.map_flags,
        ];
        let mut ptr_ids = Vec::with_capacity(vals.len());
        for n in vals {
            let id = if let Some(&(_, id)) = ptrs.iter().find(|(k, _)| *k == n) {
                id
            } else {
                let arr = t.ty(0, 3, 0, 0);
                t.u32(int);
                t.u32(idx);
                t.u32(n);
                let p = t.ty(0, 2, 0, arr);
                ptrs.push((n, p));
                p
            };
            ptr_ids.push(id);
        }
        let st = t.ty(0, 4, 5, MAP_DEF_SIZE as u32);
        for (k, (&name, &p)) in member_names.iter().zip(&ptr_ids).enumerate() {
            t.u32(name);
            t.u32(p);
            t.u32((k as u32) * 64);
        }
        let vname = strs.add(&m.name);
        let var = t.ty(vname, 14, 0, st);
        t.u32(1); // BTF_VAR_GLOBAL_ALLOCATED
        vars.push(var);
    }
    if !vars.is_empty() {
        let ds_name = strs.add(".maps");
        let n = vars.len() as u32;
        t.ty(ds_name, 15, n, n * MAP_DEF_SIZE as u32);
        for (k, v) in vars.iter().enumerate() {
            t.u32(*v);
            t.u32((k as u32) * MAP_DEF_SIZE as u32);
            t.u32(MAP_DEF_SIZE as u32);
        }
    }
    // Data labels: a `char[size]` VAR each, in a DATASEC per section (libbpf's static linker
    // and skeletons want BTF for every global symbol).
    let char_name = strs.add("char");
    let char_ty = t.ty(char_name, 1, 0, 1);
    t.u32(8);
    for s in out.sections.iter().filter(|s| s.kind != SectionKind::Code) {
        if s.symbols.is_empty() {
            continue;
        }
        let mut entries = Vec::with_capacity(s.symbols.len());
        for y in &s.symbols {
            let arr = t.ty(0, 3, 0, 0);
            t.u32(char_ty);
            t.u32(idx);
            t.u32(y.size as u32);
            let vname = strs.add(&y.name);
            let var = t.ty(vname, 14, 0, arr);
            t.u32(1);
            entries.push((var, y.offset as u32, y.size as u32));
        }
        let dname = strs.add(&s.name);
        t.ty(dname, 15, entries.len() as u32, s.data.len() as u32);
        for (v, o, z) in entries {
            t.u32(v);
            t.u32(o);
            t.u32(z);
        }
    }
    // `char _license[N] SEC("license")`.
    let lic_len = out.license.len() as u32 + 1;
    let arr = t.ty(0, 3, 0, 0);
    t.u32(char_ty);
    t.u32(idx);
    t.u32(lic_len);
    let lname = strs.add("_license");
    let var = t.ty(lname, 14, 0, arr);
    t.u32(1);
    let dname = strs.add("license");
    t.ty(dname, 15, 1, lic_len);
    t.u32(var);
    t.u32(0);
    t.u32(lic_len);
    // Functions: `int NAME(void *ctx)`.
    let has_funcs = out
        .sections
        .iter()
        .any(|s| s.symbols.iter().any(|y| y.func));
    if has_funcs {
        let void_ptr = t.ty(0, 2, 0, 0);
        let ctx_name = strs.add("ctx");
        let proto = t.ty(0, 13, 1, int);
        t.u32(ctx_name);
        t.u32(void_ptr);
        for s in &out.sections {
            for y in s.symbols.iter().filter(|y| y.func) {
                let fname = strs.add(&y.name);
                t.ty(fname, 12, 1, proto); // vlen = BTF_FUNC_GLOBAL
            }
        }
    }
    let types = t.bytes;
    let mut btf = Vec::new();
    put_u16(&mut btf, 0xeb9f);
    btf.push(1);
    btf.push(0);
    put_u32(&mut btf, 24);
    put_u32(&mut btf, 0);
    put_u32(&mut btf, types.len() as u32);
    put_u32(&mut btf, types.len() as u32);
    put_u32(&mut btf, strs.bytes.len() as u32);
    btf.extend_from_slice(&types);
    btf.extend_from_slice(&strs.bytes);
    btf
}

/// Writes `out` as a relocatable ELF object.
///
/// # Examples
///
/// ```
/// use iterscope_emulator::asm::{assemble, write_object};
/// let out = assemble(".section \"iter/bpf_map_elem\"\ndump:\n r0 = 0\n exit\n").unwrap();
/// let obj = iterscope_emulator::elf::parse(&write_object(&out), "prog").unwrap();
/// assert_eq!(obj.programs[0].name, "dump");
/// assert_eq!(obj.license, "GPL");
/// ```
pub fn write_object(out: &AsmOutput) -> Vec<u8> {
    let mut shdrs: Vec<Shdr> = Vec::new();
    // ELF index of AsmOutput section k is k + 1.
    for s in &out.sections {
        let (sh_type, flags) = match s.kind {
            SectionKind::Code => (SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR),
            SectionKind::ReadOnly => (SHT_PROGBITS, SHF_ALLOC),
            SectionKind::Data => (SHT_PROGBITS, SHF_ALLOC | SHF_WRITE),
            SectionKind::Bss => (SHT_NOBITS, SHF_ALLOC | SHF_WRITE),
        };
        let nobits = sh_type == SHT_NOBITS;
        shdrs.push(Shdr {
            name: s.name.clone(),
            sh_type,
            flags,
            data: if nobits { Vec::new() } else { s.data.clone() },
            nobits_size: if nobits { s.data.len() as u64 } else { 0 },
            link: 0,
            info: 0,
            align: 8,
            entsize: 0,
        });
    }
    let maps_idx = if out.maps.is_empty() {
        None
    } else {
        shdrs.push(Shdr {
            name: ".maps".into(),
            sh_type: SHT_PROGBITS,
            flags: SHF_ALLOC | SHF_WRITE,
            data: vec![0; out.maps.len() * MAP_DEF_SIZE as usize],
            nobits_size: 0,
            link: 0,
            info: 0,
            align: 8,
            entsize: 0,
        });
        Some(shdrs.len())
    };
    let mut license = out.license.as_bytes().to_vec();
    license.push(0);
    shdrs.push(Shdr {
        name: "license".into(),
        sh_type: SHT_PROGBITS,
        flags: SHF_ALLOC | SHF_WRITE,
        data: license.clone(),
        nobits_size: 0,
        link: 0,
        info: 0,
        align: 1,
        entsize: 0,
    });
    let license_idx = shdrs.len();
    {
        shdrs.push(Shdr {
            name: ".BTF".into(),
            sh_type: SHT_PROGBITS,
            flags: 0,
            data: maps_btf(out),
            nobits_size: 0,
            link: 0,
            info: 0,
            align: 4,
            entsize: 0,
        });
    }
    // Symbols: null, one section symbol per assembled section, then globals.
    let mut strtab = Strtab::new();
    let mut syms = Vec::new();
    sym(&mut syms, 0, 0, 0, 0, 0, 0);
    for k in 0..out.sections.len() {
        sym(&mut syms, 0, STB_LOCAL, STT_SECTION, (k + 1) as u16, 0, 0);
    }
    let first_global = 1 + out.sections.len();
    let mut next = first_global;
    let mut sym_index: Vec<Vec<usize>> = Vec::with_capacity(out.sections.len());
    for (k, s) in out.sections.iter().enumerate() {
        let mut idx = Vec::with_capacity(s.symbols.len());
        for y in &s.symbols {
            let name = strtab.add(&y.name);
            let ty = if y.func { STT_FUNC } else { STT_OBJECT };
            sym(
                &mut syms,
                name,
                STB_GLOBAL,
                ty,
                (k + 1) as u16,
                y.offset,
                y.size,
            );
            idx.push(next);
            next += 1;
        }
        sym_index.push(idx);
    }
    let first_map_sym = next;
    if let Some(mi) = maps_idx {
        for (k, m) in out.maps.iter().enumerate() {
            let name = strtab.add(&m.name);
            sym(
                &mut syms,
                name,
                STB_GLOBAL,
                STT_OBJECT,
                mi as u16,
                k as u64 * MAP_DEF_SIZE,
                MAP_DEF_SIZE,
            );
        }
    }
    let lic_name = strtab.add("_license");
    sym(
        &mut syms,
        lic_name,
        STB_GLOBAL,
        STT_OBJECT,
        license_idx as u16,
        0,
        license.len() as u64,
    );
    // Relocation sections.
    let symtab_idx = shdrs.len() + 1 + out.sections.iter().filter(|s| !s.relocs.is_empty()).count();
    for (k, s) in out.sections.iter().enumerate() {
        if s.relocs.is_empty() {
            continue;
        }
        let mut data = Vec::with_capacity(s.relocs.len() * 16);
        for r in &s.relocs {
            let symi = match r.target {
                RelocRef::Map(m) => first_map_sym + m,
                RelocRef::Section(sec) => 1 + sec,
                RelocRef::Symbol { section, symbol } => sym_index
                    .get(section)
                    .and_then(|v| v.get(symbol))
                    .copied()
                    .unwrap_or(1 + section),
            };
            let ty = match r.kind {
                RelocKind::Ld64 => R_BPF_64_64,
                RelocKind::Call => R_BPF_64_32,
            };
            put_u64(&mut data, r.offset);
            put_u64(&mut data, ((symi as u64) << 32) | ty);
        }
        shdrs.push(Shdr {
            name: format!(".rel{}", s.name),
            sh_type: SHT_REL,
            flags: SHF_INFO_LINK,
            data,
            nobits_size: 0,
            link: symtab_idx as u32,
            info: (k + 1) as u32,
            align: 8,
            entsize: 16,
        });
    }
    shdrs.push(Shdr {
        name: ".symtab".into(),
        sh_type: SHT_SYMTAB,
        flags: 0,
        data: syms,
        nobits_size: 0,
        link: (symtab_idx + 1) as u32,
        info: first_global as u32,
        align: 8,
        entsize: 24,
    });
    shdrs.push(Shdr {
        name: ".strtab".into(),
        sh_type: SHT_STRTAB,
        flags: 0,
        data: strtab.bytes,
        nobits_size: 0,
        link: 0,
        info: 0,
        align: 1,
        entsize: 0,
    });
    let mut shstr = Strtab::new();
    let mut names: Vec<u32> = shdrs.iter().map(|s| shstr.add(&s.name)).collect();
    let shstr_name = shstr.add(".shstrtab");
    names.push(shstr_name);
    shdrs.push(Shdr {
        name: ".shstrtab".into(),
        sh_type: SHT_STRTAB,
        flags: 0,
        data: shstr.bytes,
        nobits_size: 0,
        link: 0,
        info: 0,
        align: 1,
        entsize: 0,
    });
    // Lay out: header, section data, section headers.
    let mut file = vec![0u8; 64];
    let mut offsets = Vec::with_capacity(shdrs.len());
    for s in &shdrs {
        let align = s.align.max(1) as usize;
        while !file.len().is_multiple_of(align) {
            file.push(0);
        }
        offsets.push(file.len() as u64);
        file.extend_from_slice(&s.data);
    }
    while !file.len().is_multiple_of(8) {
        file.push(0);
    }
    let shoff = file.len() as u64;
    file.extend_from_slice(&[0u8; 64]); // null section header
    for ((s, off), name) in shdrs.iter().zip(&offsets).zip(&names) {
        put_u32(&mut file, *name);
        put_u32(&mut file, s.sh_type);
        put_u64(&mut file, s.flags);
        put_u64(&mut file, 0);
        put_u64(&mut file, *off);
        let size = if s.sh_type == SHT_NOBITS {
            s.nobits_size
        } else {
            s.data.len() as u64
        };
        put_u64(&mut file, size);
        put_u32(&mut file, s.link);
        put_u32(&mut file, s.info);
        put_u64(&mut file, s.align);
        put_u64(&mut file, s.entsize);
    }
    let shnum = (shdrs.len() + 1) as u16;
    let mut h = Vec::with_capacity(64);
    h.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
    h.extend_from_slice(&[0; 8]);
    put_u16(&mut h, 1); // ET_REL
    put_u16(&mut h, 247); // EM_BPF
    put_u32(&mut h, 1);
    put_u64(&mut h, 0);
    put_u64(&mut h, 0);
    put_u64(&mut h, shoff);
    put_u32(&mut h, 0);
    put_u16(&mut h, 64);
    put_u16(&mut h, 0);
    put_u16(&mut h, 0);
    put_u16(&mut h, 64);
    put_u16(&mut h, shnum);
    put_u16(&mut h, shnum - 1);
    file[..64].copy_from_slice(&h);
    file
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asm::assemble;
    use crate::elf::btf::{Btf, BtfKind};

    #[test]
    fn header_and_btf() {
        let out = assemble(
            ".map hist, type=hash, key=8, value=16, max_entries=32, flags=1\nr0 = 0\nexit\n",
        )
        .unwrap();
        let bytes = write_object(&out);
        assert_eq!(&bytes[..4], b"\x7fELF");
        assert_eq!(bytes[4], 2); // ELFCLASS64
        assert_eq!(bytes[5], 1); // little-endian
        assert_eq!(u16::from_le_bytes([bytes[18], bytes[19]]), 247);
        assert_eq!(u16::from_le_bytes([bytes[16], bytes[17]]), 1); // ET_REL
        let btf = Btf::parse(&maps_btf(&out)).unwrap();
        let var = btf
            .find_by_name("hist", |k| matches!(k, BtfKind::Var { .. }))
            .unwrap();
        assert!(var > 0);
        let obj = crate::elf::parse(&bytes, "prog").unwrap();
        let m = &obj.maps[0];
        assert_eq!(
            (
                m.map_type,
                m.key_size,
                m.value_size,
                m.max_entries,
                m.map_flags
            ),
            (1, 8, 16, 32, 1)
        );
    }
}
