//! Loading clang-built BPF ELF objects (`clang -O2 -g -target bpf`).
//!
//! [`parse`] turns the bytes of a relocatable BPF object into an [`Object`]: its programs
//! (one per function in each `SEC("...")` code section, with the `.text` subprograms they
//! call appended and the bpf-to-bpf call immediates fixed up), the BTF-defined maps of
//! `.maps`, the global data sections (`.bss`, `.data`, `.rodata` and their `.data.*` /
//! `.rodata.*` variants, each kept as its own [`GlobalData`] as libbpf 1.x keeps each as its
//! own internal array map), the license and the parsed BTF. CO-RE relocations from
//! `.BTF.ext` are applied on the way against the emulator's model of the kernel types
//! ([`core`]), and `line_info` is kept per program for source-annotated disassembly.
//!
//! Submodules: [`sections`] classifies sections and builds maps and globals, [`reloc`] links
//! programs and resolves `ld_imm64`/call relocations, [`btf`] parses `.BTF`/`.BTF.ext`, and
//! [`core`] holds the kernel type model and the CO-RE patcher, and [`typed`] decodes map keys,
//! values and global variables by their BTF types.
//!
//! Out of scope: legacy `SEC("maps")` `struct bpf_map_def` maps, map-in-map, externs
//! (`.kconfig`, `.ksyms`, kfuncs), struct_ops, big-endian objects, and verification (a
//! parsed program is only linked, not checked).

pub mod btf;
pub mod core;
mod reloc;
pub mod sections;
pub mod typed;

use std::fmt;
use std::str::FromStr;

pub use self::btf::Btf;

/// `BPF_PSEUDO_MAP_FD`: `ld_imm64` source register for "address of map".
pub const BPF_PSEUDO_MAP_FD: u8 = 1;
/// `BPF_PSEUDO_MAP_VALUE`: `ld_imm64` source register for "address inside a map's value".
pub const BPF_PSEUDO_MAP_VALUE: u8 = 2;
/// `BPF_PSEUDO_CALL`: call source register for a bpf-to-bpf call.
pub const BPF_PSEUDO_CALL: u8 = 1;

/// A parsed BPF object file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// Programs, in section order then function order.
    pub programs: Vec<Program>,
    /// BTF-defined maps from `.maps`, in section offset order.
    pub maps: Vec<MapSpec>,
    /// Global data sections, in ELF section order.
    pub globals: Vec<GlobalData>,
    /// Contents of the `license` section up to the first NUL (empty if absent).
    pub license: String,
    /// Parsed `.BTF` (None if the object has none).
    pub btf: Option<Btf>,
}

impl Object {
    /// The program called `name`.
    pub fn program(&self, name: &str) -> Option<&Program> {
        self.programs.iter().find(|p| p.name == name)
    }
}

/// One program: a function of a code section, linked with the subprograms it calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// Function (symbol) name.
    pub name: String,
    /// ELF section name, e.g. `iter/bpf_map_elem`.
    pub section: String,
    /// Kind derived from the section name.
    pub kind: ProgramKind,
    /// Raw 8-byte instructions: the function, then each called `.text` subprogram.
    ///
    /// Every `ld_imm64` listed in [`Program::relocs`] has its source register set to
    /// [`BPF_PSEUDO_MAP_FD`] or [`BPF_PSEUDO_MAP_VALUE`] and both immediate halves zeroed:
    /// the runtime writes the guest address of the map, or of the global's data plus
    /// [`RelocTarget::Global::offset`], there.
    pub insns: Vec<u8>,
    /// Map and global data references.
    pub relocs: Vec<Reloc>,
    /// `iter.s/...`: a sleepable program.
    pub sleepable: bool,
    /// Source line records (from `.BTF.ext`), sorted by instruction index.
    pub line_info: Vec<LineInfo>,
    /// Function boundaries (the program itself at 0, then each appended subprogram).
    pub funcs: Vec<FuncInfo>,
}

impl Program {
    /// Number of 8-byte instruction slots.
    pub fn insn_count(&self) -> usize {
        self.insns.len() / 8
    }
}

/// A function placed in a [`Program`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncInfo {
    /// First instruction index in [`Program::insns`].
    pub insn: usize,
    /// Function name.
    pub name: String,
}

/// A source line record of a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInfo {
    /// Instruction index in [`Program::insns`].
    pub insn: usize,
    /// Source file as recorded by clang (`prog.bpf.c` for the objects our build scripts
    /// make; may be a path: the kernel's verifier log prints only its base name).
    pub file: String,
    /// Line number (1-based).
    pub line: u32,
    /// Column (1-based, 0 if unknown).
    pub col: u32,
    /// Text of the source line.
    pub source: String,
}

/// The program kind, from the section name (`FromStr`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgramKind {
    /// `iter/bpf_map_elem` or `iter.s/bpf_map_elem`.
    IterBpfMapElem,
    /// `iter/bpf_sk_storage_map` or `iter.s/bpf_sk_storage_map`.
    IterBpfSkStorageMap,
    /// Any other section name, kept verbatim.
    Other(String),
}

impl ProgramKind {
    /// Kind and sleepable flag of a section name.
    pub fn from_section(section: &str) -> (ProgramKind, bool) {
        let (target, sleepable) = if let Some(t) = section.strip_prefix("iter.s/") {
            (Some(t), true)
        } else {
            (section.strip_prefix("iter/"), false)
        };
        let kind = match target {
            Some("bpf_map_elem") => ProgramKind::IterBpfMapElem,
            Some("bpf_sk_storage_map") => ProgramKind::IterBpfSkStorageMap,
            _ => return (ProgramKind::Other(section.to_owned()), false),
        };
        (kind, sleepable)
    }
}

impl FromStr for ProgramKind {
    type Err = std::convert::Infallible;

    /// Parses a section name; unknown names become [`ProgramKind::Other`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(ProgramKind::from_section(s).0)
    }
}

impl fmt::Display for ProgramKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProgramKind::IterBpfMapElem => f.write_str("iter/bpf_map_elem"),
            ProgramKind::IterBpfSkStorageMap => f.write_str("iter/bpf_sk_storage_map"),
            ProgramKind::Other(s) => f.write_str(s),
        }
    }
}

/// A reference from an `ld_imm64` to a map or global data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloc {
    /// Index of the `ld_imm64`'s first slot in [`Program::insns`].
    pub insn: usize,
    /// What it refers to.
    pub target: RelocTarget,
}

/// Target of a [`Reloc`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelocTarget {
    /// `BPF_PSEUDO_MAP_FD`: index into [`Object::maps`].
    Map(usize),
    /// `BPF_PSEUDO_MAP_VALUE`: an address inside a global data section.
    Global {
        /// Index into [`Object::globals`].
        global: usize,
        /// Byte offset in the section: symbol value plus the instruction's immediate
        /// addend, as libbpf computes it.
        offset: u64,
    },
}

/// A BTF-defined map from `.maps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapSpec {
    /// Map (variable) name.
    pub name: String,
    /// `BPF_MAP_TYPE_*`.
    pub map_type: u32,
    /// Key size in bytes (`__type(key, ..)` size or `__uint(key_size, ..)`).
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// `max_entries`.
    pub max_entries: u32,
    /// `map_flags`.
    pub map_flags: u32,
}

/// A global data section, loaded as a one-element array map by libbpf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalData {
    /// ELF section name (`.bss`, `.data`, `.rodata`, `.rodata.str1.1`, ...).
    pub section: String,
    /// Kernel-visible map name by libbpf 1.x's rule, see [`sections::internal_map_name`]
    /// (`prog.bss` for `.bss` of `prog.bpf.o`).
    pub map_name: String,
    /// Initial contents (zeros for `.bss`).
    pub data: Vec<u8>,
    /// `.rodata*`: read-only for the program (`BPF_F_RDONLY_PROG`) and frozen.
    pub readonly: bool,
}

/// Errors from [`parse`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ElfError {
    /// The ELF container itself is malformed.
    #[error("malformed ELF: {reason}")]
    Elf {
        /// What the ELF reader (the `object` crate) reported.
        reason: String,
    },
    /// Not a BPF object.
    #[error("not a BPF object: e_machine {machine}, expected 247 (EM_BPF)")]
    WrongMachine {
        /// The ELF header's `e_machine`.
        machine: u16,
    },
    /// Not a relocatable object.
    #[error("not a relocatable object (e_type {e_type})")]
    NotRelocatable {
        /// The ELF header's `e_type`.
        e_type: u16,
    },
    /// A section cannot be read.
    #[error("section `{section}`: {reason}")]
    Section {
        /// Section name (or `#index` when the name cannot be read).
        section: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A symbol is malformed or unsupported.
    #[error("symbol `{symbol}` (#{index}): {reason}")]
    Symbol {
        /// Symbol name.
        symbol: String,
        /// Symbol table index.
        index: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A relocation is malformed or unsupported.
    #[error("section `{section}` relocation at offset {offset:#x}: {reason}")]
    Relocation {
        /// Section the relocation applies to.
        section: String,
        /// Byte offset in that section.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// A bpf-to-bpf call cannot be linked.
    #[error("section `{section}` insn {insn}: {reason}")]
    Call {
        /// Section of the call instruction.
        section: String,
        /// Instruction index in the section.
        insn: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// `.BTF` or `.BTF.ext` is malformed.
    #[error("section `{section}` at offset {offset:#x}: {reason}")]
    Btf {
        /// `.BTF` or `.BTF.ext`.
        section: &'static str,
        /// Byte offset in the section.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A map definition in `.maps` is malformed.
    #[error("map `{map}`: {reason}")]
    Map {
        /// Map name.
        map: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A CO-RE relocation record is malformed or cannot be applied.
    #[error("CO-RE relocation in section `{section}` insn {insn}: {reason}")]
    CoreRelo {
        /// Code section.
        section: String,
        /// Instruction index in the section.
        insn: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A CO-RE relocation refers to a kernel type or field the emulator does not model.
    #[error(
        "CO-RE relocation in section `{section}` insn {insn}: struct `{type_name}` field `{field}` is not in the emulator's kernel model"
    )]
    CoreMissing {
        /// Code section.
        section: String,
        /// Instruction index in the section.
        insn: usize,
        /// Kernel type name.
        type_name: String,
        /// Field (access path), empty for type-level relocations.
        field: String,
    },
}

impl From<object::read::Error> for ElfError {
    fn from(e: object::read::Error) -> Self {
        ElfError::Elf {
            reason: e.to_string(),
        }
    }
}

/// Parses a clang-built BPF object.
///
/// `object_name` is the libbpf object name used for global data map names: the file's base
/// name up to its first `.` (`"prog"` for `prog.bpf.o`); a name containing a `.` or a path
/// is reduced the same way.
///
/// # Errors
///
/// An [`ElfError`] naming the section and offset of the first problem found. Malformed
/// input never panics.
///
/// # Examples
///
/// ```no_run
/// let bytes = std::fs::read("prog.bpf.o").unwrap();
/// let obj = iterscope_emulator::elf::parse(&bytes, "prog").unwrap();
/// assert_eq!(obj.programs[0].section, "iter/bpf_map_elem");
/// ```
pub fn parse(bytes: &[u8], object_name: &str) -> Result<Object, ElfError> {
    // The `object` crate reads headers in place and needs them 8-byte aligned; bytes from
    // `include_bytes!` or a browser upload need not be. Copy into u64-backed storage then.
    if bytes.as_ptr().align_offset(8) != 0 {
        let mut buf = vec![0u8; bytes.len() + 8];
        let off = buf.as_ptr().align_offset(8).min(8);
        buf[off..off + bytes.len()].copy_from_slice(bytes);
        return parse_aligned(&buf[off..off + bytes.len()], object_name);
    }
    parse_aligned(bytes, object_name)
}

fn parse_aligned(bytes: &[u8], object_name: &str) -> Result<Object, ElfError> {
    let base = object_name.rsplit('/').next().unwrap_or(object_name);
    let obj_name = base.split('.').next().unwrap_or(base);
    let elf = sections::ElfSections::parse(bytes)?;
    let btf = match elf.find(".BTF") {
        Some(i) => Some(Btf::parse(elf.data(i))?),
        None => None,
    };
    let ext = match (elf.find(".BTF.ext"), elf.find(".BTF")) {
        (Some(e), Some(b)) => Some(btf::BtfExt::parse(elf.data(e), elf.data(b))?),
        _ => None,
    };
    let maps = sections::parse_maps(&elf, btf.as_ref())?;
    let globals = sections::parse_globals(&elf, obj_name)?;
    let license = elf
        .find("license")
        .map(|i| {
            let d = elf.data(i);
            let end = d.iter().position(|&b| b == 0).unwrap_or(d.len());
            String::from_utf8_lossy(&d[..end]).into_owned()
        })
        .unwrap_or_default();
    let programs = reloc::link_programs(&elf, btf.as_ref(), ext.as_ref(), &maps, &globals)?;
    Ok(Object {
        programs,
        maps,
        globals,
        license,
        btf,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_kind_from_section() {
        assert_eq!(
            ProgramKind::from_section("iter/bpf_map_elem"),
            (ProgramKind::IterBpfMapElem, false)
        );
        assert_eq!(
            ProgramKind::from_section("iter.s/bpf_map_elem"),
            (ProgramKind::IterBpfMapElem, true)
        );
        assert_eq!(
            "iter/bpf_sk_storage_map".parse::<ProgramKind>(),
            Ok(ProgramKind::IterBpfSkStorageMap)
        );
        assert_eq!(
            "xdp".parse::<ProgramKind>(),
            Ok(ProgramKind::Other("xdp".into()))
        );
        assert_eq!(ProgramKind::IterBpfMapElem.to_string(), "iter/bpf_map_elem");
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse(b"", "x").is_err());
        assert!(parse(b"\x7fELF", "x").is_err());
        assert!(parse(&[0u8; 64], "x").is_err());
    }
}
