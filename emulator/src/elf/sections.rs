//! ELF section and symbol tables, BTF-defined maps and global data sections.
//!
//! This module reads the section headers, the symbol table and the `SHT_REL` tables of a
//! little-endian 64-bit `EM_BPF` relocatable object through the `object` crate's low-level
//! ELF API (so each malformed header is reported with its section), builds the
//! [`MapSpec`]s of the `.maps` section from BTF, and the [`GlobalData`] of the `.bss`,
//! `.data*` and `.rodata*` sections with libbpf 1.x's internal map names
//! ([`internal_map_name`]).
//!
//! Out of scope: legacy `SEC("maps")` definitions, `.kconfig`/`.ksyms` externs and
//! `.struct_ops`; such sections are ignored here, and references to them are rejected when
//! relocating.

use object::elf::{FileHeader64, ET_REL, SHT_NOBITS, SHT_SYMTAB};
use object::read::elf::{FileHeader, Rel as _, SectionHeader, Sym as _};
use object::LittleEndian;

use super::btf::{Btf, BtfKind};
use super::{ElfError, GlobalData, MapSpec};

/// `EM_BPF`.
const EM_BPF: u16 = 247;
/// `SHF_EXECINSTR`.
const SHF_EXECINSTR: u64 = 0x4;
/// `BPF_OBJ_NAME_LEN - 1`: longest kernel object name.
const MAX_NAME: usize = 15;
/// Largest global data section accepted (libbpf has no limit; this keeps a forged `sh_size`
/// of a `.bss` from allocating gigabytes).
const MAX_GLOBAL_SIZE: u64 = 1 << 24;

/// One section header with its data.
#[derive(Debug)]
pub(crate) struct SectionInfo<'a> {
    /// Section name.
    pub(crate) name: String,
    /// `sh_type`.
    pub(crate) sh_type: u32,
    /// `sh_flags`.
    pub(crate) flags: u64,
    /// `sh_size`.
    pub(crate) size: u64,
    /// File contents (empty for `SHT_NOBITS`).
    pub(crate) data: &'a [u8],
    /// `sh_info` (target section of a relocation section).
    pub(crate) info: u32,
    /// Relocation entries if this is an `SHT_REL` section.
    pub(crate) rels: Vec<RelEntry>,
}

impl SectionInfo<'_> {
    /// An executable section with code.
    pub(crate) fn is_code(&self) -> bool {
        self.flags & SHF_EXECINSTR != 0 && self.sh_type != SHT_NOBITS
    }
}

/// One `Elf64_Rel`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RelEntry {
    /// `r_offset`: byte offset in the target section.
    pub(crate) offset: u64,
    /// Symbol table index.
    pub(crate) sym: usize,
    /// `R_BPF_*` type.
    pub(crate) r_type: u32,
}

/// One symbol table entry.
#[derive(Debug, Clone)]
pub(crate) struct SymbolInfo {
    /// Symbol name.
    pub(crate) name: String,
    /// `st_value`.
    pub(crate) value: u64,
    /// `st_size`.
    pub(crate) size: u64,
    /// `st_shndx`.
    pub(crate) shndx: u16,
    /// `STT_*`.
    pub(crate) sym_type: u8,
}

/// The sections and symbols of an object.
#[derive(Debug)]
pub(crate) struct ElfSections<'a> {
    /// All sections by index (index 0 is the null section).
    pub(crate) sections: Vec<SectionInfo<'a>>,
    /// The symbol table by index (index 0 is the null symbol).
    pub(crate) symbols: Vec<SymbolInfo>,
}

fn section_err(name: &str, reason: &'static str) -> ElfError {
    ElfError::Section {
        section: name.to_owned(),
        reason,
    }
}

impl<'a> ElfSections<'a> {
    /// Reads the header, section table, symbol table and relocation tables.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, ElfError> {
        let hdr = FileHeader64::<LittleEndian>::parse(bytes)?;
        let endian = hdr.endian()?;
        let machine = hdr.e_machine(endian);
        if machine != EM_BPF {
            return Err(ElfError::WrongMachine { machine });
        }
        let e_type = hdr.e_type(endian);
        if e_type != ET_REL {
            return Err(ElfError::NotRelocatable { e_type });
        }
        let table = hdr.sections(endian, bytes)?;
        let mut sections = Vec::with_capacity(table.len());
        for (index, sh) in table.enumerate() {
            let name = match table.section_name(endian, sh) {
                Ok(n) => String::from_utf8_lossy(n).into_owned(),
                Err(_) => return Err(section_err(&format!("#{}", index.0), "bad name offset")),
            };
            let sh_type = sh.sh_type(endian);
            let data = sh
                .data(endian, bytes)
                .map_err(|_| section_err(&name, "data outside the file"))?;
            let rels = match sh.rel(endian, bytes) {
                Ok(Some((rels, _))) => rels
                    .iter()
                    .map(|r| RelEntry {
                        offset: r.r_offset(endian),
                        sym: r.r_sym(endian) as usize,
                        r_type: r.r_type(endian),
                    })
                    .collect(),
                Ok(None) => Vec::new(),
                Err(_) => return Err(section_err(&name, "malformed relocation table")),
            };
            sections.push(SectionInfo {
                name,
                sh_type,
                flags: sh.sh_flags(endian),
                size: sh.sh_size(endian),
                data,
                info: sh.sh_info(endian),
                rels,
            });
        }
        let symtab = table
            .symbols(endian, bytes, SHT_SYMTAB)
            .map_err(|_| section_err(".symtab", "malformed symbol table"))?;
        let strings = symtab.strings();
        let mut symbols = Vec::with_capacity(symtab.len());
        for (i, sym) in symtab.symbols().iter().enumerate() {
            let name = match sym.name(endian, strings) {
                Ok(n) => String::from_utf8_lossy(n).into_owned(),
                Err(_) if i == 0 => String::new(),
                Err(_) => {
                    return Err(ElfError::Symbol {
                        symbol: String::new(),
                        index: i,
                        reason: "bad name offset",
                    })
                }
            };
            symbols.push(SymbolInfo {
                name,
                value: sym.st_value(endian),
                size: sym.st_size(endian),
                shndx: sym.st_shndx(endian),
                sym_type: sym.st_type(),
            });
        }
        Ok(ElfSections { sections, symbols })
    }

    /// Index of the first section called `name`.
    pub(crate) fn find(&self, name: &str) -> Option<usize> {
        self.sections.iter().position(|s| s.name == name)
    }

    /// Data of section `index` (empty if out of range).
    pub(crate) fn data(&self, index: usize) -> &'a [u8] {
        self.sections.get(index).map_or(&[], |s| s.data)
    }
}

/// Whether a section holds global data, and if so whether it is read-only.
pub(crate) fn global_kind(section: &SectionInfo<'_>) -> Option<bool> {
    let n = section.name.as_str();
    if section.is_code() {
        return None;
    }
    let is = |base: &str| n == base || n.strip_prefix(base).is_some_and(|r| r.starts_with('.'));
    if is(".rodata") {
        Some(true)
    } else if is(".data") || is(".bss") {
        Some(false)
    } else {
        None
    }
}

/// The kernel-visible name libbpf 1.x gives the internal map of global data section
/// `section` in object `object_name` (the file's base name up to its first `.`).
///
/// The rule: the section name is the suffix, with at least 7 characters reserved for it
/// (so `.bss` reserves as much as `.rodata`) and at most 15 kept. A section name with a
/// second `.` (`.rodata.str1.1`, `.data.custom`) is used alone; otherwise as much of the
/// object name as fits in the remaining 15 − reserved characters is put in front (8
/// characters for `.bss`/`.data`/`.rodata`). Characters other than ASCII letters, digits,
/// `_` and `.` become `_`. Recorded kernel logs show `map=prog.bss` and `map=prog.rodata`
/// for `prog.bpf.o`.
///
/// ```
/// use iterscope_emulator::elf::sections::internal_map_name;
/// assert_eq!(internal_map_name("prog", ".bss"), "prog.bss");
/// assert_eq!(internal_map_name("my_object_name", ".rodata"), "my_objec.rodata");
/// assert_eq!(internal_map_name("prog", ".rodata.str1.1"), ".rodata.str1.1");
/// ```
pub fn internal_map_name(object_name: &str, section: &str) -> String {
    let sanitize = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let obj = sanitize(object_name);
    let sec = sanitize(section);
    let sfx_len = sec.len().clamp(7, MAX_NAME);
    let pfx_len = if sec.get(1..).is_some_and(|rest| rest.contains('.')) {
        0
    } else {
        (MAX_NAME - sfx_len).min(obj.len())
    };
    let mut name = String::with_capacity(MAX_NAME);
    name.push_str(&obj[..pfx_len]);
    name.push_str(&sec[..sfx_len.min(sec.len())]);
    name.truncate(MAX_NAME);
    name
}

/// Builds the global data sections, in ELF section order. Empty sections are skipped, as
/// libbpf creates no map for them.
pub(crate) fn parse_globals(
    elf: &ElfSections<'_>,
    object_name: &str,
) -> Result<Vec<GlobalData>, ElfError> {
    let mut out = Vec::new();
    for s in &elf.sections {
        let Some(readonly) = global_kind(s) else {
            continue;
        };
        if s.size == 0 {
            continue;
        }
        if s.size > MAX_GLOBAL_SIZE {
            return Err(section_err(&s.name, "global data section too large"));
        }
        let data = if s.sh_type == SHT_NOBITS {
            vec![0; s.size as usize]
        } else {
            s.data.to_vec()
        };
        out.push(GlobalData {
            section: s.name.clone(),
            map_name: internal_map_name(object_name, &s.name),
            data,
            readonly,
        });
    }
    Ok(out)
}

/// Index into the `globals` of [`parse_globals`] for ELF section `index`.
pub(crate) fn global_index(
    elf: &ElfSections<'_>,
    globals: &[GlobalData],
    index: usize,
) -> Option<usize> {
    let name = &elf.sections.get(index)?.name;
    globals.iter().position(|g| &g.section == name)
}

/// `STT_FUNC`.
pub(crate) const STT_FUNC: u8 = 2;
/// `STT_SECTION`.
pub(crate) const STT_SECTION: u8 = 3;

/// Symbols defining maps in `.maps`, sorted by offset (the order of [`parse_maps`]).
pub(crate) fn map_symbols<'e>(elf: &'e ElfSections<'_>) -> Vec<&'e SymbolInfo> {
    let Some(maps_idx) = elf.find(".maps") else {
        return Vec::new();
    };
    let mut syms: Vec<&SymbolInfo> = elf
        .symbols
        .iter()
        .filter(|s| {
            usize::from(s.shndx) == maps_idx && s.sym_type != STT_SECTION && !s.name.is_empty()
        })
        .collect();
    syms.sort_by_key(|s| s.value);
    syms
}

/// Builds the BTF-defined maps of `.maps`.
pub(crate) fn parse_maps(
    elf: &ElfSections<'_>,
    btf: Option<&Btf>,
) -> Result<Vec<MapSpec>, ElfError> {
    let syms = map_symbols(elf);
    if syms.is_empty() {
        return Ok(Vec::new());
    }
    let mut maps = Vec::with_capacity(syms.len());
    for sym in syms {
        let err = |reason| ElfError::Map {
            map: sym.name.clone(),
            reason,
        };
        let btf = btf.ok_or_else(|| err("`.maps` definitions need a .BTF section"))?;
        let var = btf
            .find_by_name(&sym.name, |k| matches!(k, BtfKind::Var { .. }))
            .ok_or_else(|| err("no BTF variable for the map"))?;
        let Some(BtfKind::Var { ty, .. }) = btf.type_by_id(var).map(|t| &t.kind) else {
            return Err(err("no BTF variable for the map"));
        };
        let def = btf
            .skip_mods_and_typedefs(*ty)
            .and_then(|id| btf.type_by_id(id))
            .ok_or_else(|| err("dangling BTF type"))?;
        let BtfKind::Struct { members, .. } = &def.kind else {
            return Err(err("map definition is not a struct"));
        };
        let mut spec = MapSpec {
            name: sym.name.clone(),
            map_type: 0,
            key_size: 0,
            value_size: 0,
            max_entries: 0,
            map_flags: 0,
        };
        for m in members {
            // `__uint(name, N)` is `int (*name)[N]`; `__type(name, T)` is `T *name`.
            let pointee = btf
                .skip_mods_and_typedefs(m.ty)
                .and_then(|id| match btf.type_by_id(id).map(|t| &t.kind) {
                    Some(BtfKind::Ptr(t)) => Some(*t),
                    _ => None,
                })
                .ok_or_else(|| err("map definition member is not a pointer"))?;
            let uint = || -> Result<u32, ElfError> {
                match btf
                    .skip_mods_and_typedefs(pointee)
                    .and_then(|id| btf.type_by_id(id))
                    .map(|t| &t.kind)
                {
                    Some(BtfKind::Array { len, .. }) => Ok(*len),
                    _ => Err(err("__uint() member is not a pointer to an array")),
                }
            };
            let size = || {
                btf.size_of(pointee)
                    .ok_or_else(|| err("__type() has no size"))
            };
            match m.name.as_str() {
                "type" => spec.map_type = uint()?,
                "max_entries" => spec.max_entries = uint()?,
                "map_flags" => spec.map_flags = uint()?,
                "key_size" => spec.key_size = uint()?,
                "value_size" => spec.value_size = uint()?,
                "key" => spec.key_size = size()?,
                "value" => spec.value_size = size()?,
                // numa_node, map_extra, pinning, values (map-in-map): not modelled.
                _ => {}
            }
        }
        maps.push(spec);
    }
    Ok(maps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_names() {
        assert_eq!(internal_map_name("prog", ".bss"), "prog.bss");
        assert_eq!(internal_map_name("prog", ".rodata"), "prog.rodata");
        assert_eq!(internal_map_name("hash_dump", ".data"), "hash_dum.data");
        assert_eq!(
            internal_map_name("my_object_name", ".kconfig"),
            "my_obje.kconfig"
        );
        assert_eq!(
            internal_map_name("prog", ".rodata.str1.1"),
            ".rodata.str1.1"
        );
        assert_eq!(
            internal_map_name("prog", ".data.abracadabra"),
            ".data.abracadab"
        );
        assert_eq!(internal_map_name("a-b", ".bss"), "a_b.bss");
    }
}
