//! BTF (`.BTF`) and BTF extension (`.BTF.ext`) parsing.
//!
//! [`Btf`] holds every type of the object's `.BTF` section in id order (id 0 is `void`) with
//! names resolved to owned strings. [`BtfExt`] holds the per-section records of `.BTF.ext`:
//! `func_info`, `line_info` and the CO-RE relocation records (`core_relo`). Instruction
//! offsets in these records are byte offsets inside the ELF section, as clang writes them
//! into a relocatable object (libbpf converts them to instruction indices; so do we, later).
//!
//! Only little-endian BTF is accepted, because BPF objects built for x86 hosts are
//! little-endian. Out of scope: the BTF dedup algorithm, writing BTF, and fixing up
//! `DATASEC` sizes and variable offsets the way libbpf does before a load (the emulator
//! takes sizes and offsets from the ELF symbols instead).

use super::ElfError;

/// Name of the BTF section, used in errors.
const BTF_SECTION: &str = ".BTF";
/// Name of the BTF extension section, used in errors.
const BTF_EXT_SECTION: &str = ".BTF.ext";
/// `BTF_MAGIC` from uapi `btf.h`.
const BTF_MAGIC: u16 = 0xeb9f;
/// Upper bound on typedef/modifier chains followed while resolving a type.
const MAX_RESOLVE_DEPTH: usize = 64;

/// One BTF type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BtfType {
    /// The type's name (`""` for anonymous types).
    pub name: String,
    /// Kind-specific data.
    pub kind: BtfKind,
}

/// A member of a struct or union.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BtfMember {
    /// Member name (`""` for an anonymous struct or union member).
    pub name: String,
    /// Type id of the member.
    pub ty: u32,
    /// Offset of the member from the start of the struct, in bits.
    pub bit_offset: u32,
    /// Bitfield width in bits, 0 when the member is not a bitfield.
    pub bitfield_size: u32,
}

/// One variable of a `DATASEC`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BtfDatasecVar {
    /// Type id of the `VAR`.
    pub ty: u32,
    /// Offset in the section (0 in clang output; libbpf fixes it up from symbols).
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
}

/// Kind-specific data of a [`BtfType`] (`BTF_KIND_*` in uapi `btf.h`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BtfKind {
    /// Type id 0.
    Void,
    /// `BTF_KIND_INT`.
    Int {
        /// Size in bytes.
        size: u32,
        /// `BTF_INT_SIGNED` is set.
        signed: bool,
        /// Bit offset inside the storage.
        bit_offset: u8,
        /// Number of value bits.
        bits: u8,
    },
    /// `BTF_KIND_PTR`.
    Ptr(u32),
    /// `BTF_KIND_ARRAY`.
    Array {
        /// Element type.
        elem: u32,
        /// Index type.
        index: u32,
        /// Number of elements.
        len: u32,
    },
    /// `BTF_KIND_STRUCT`.
    Struct {
        /// Size in bytes.
        size: u32,
        /// Members in declaration order.
        members: Vec<BtfMember>,
    },
    /// `BTF_KIND_UNION`.
    Union {
        /// Size in bytes.
        size: u32,
        /// Members in declaration order.
        members: Vec<BtfMember>,
    },
    /// `BTF_KIND_ENUM` and `BTF_KIND_ENUM64`.
    Enum {
        /// Size in bytes.
        size: u32,
        /// Values are signed.
        signed: bool,
        /// Enumerators.
        values: Vec<(String, i64)>,
    },
    /// `BTF_KIND_FWD`.
    Fwd {
        /// Forward declaration of a union rather than a struct.
        union: bool,
    },
    /// `BTF_KIND_TYPEDEF`.
    Typedef(u32),
    /// `BTF_KIND_VOLATILE`.
    Volatile(u32),
    /// `BTF_KIND_CONST`.
    Const(u32),
    /// `BTF_KIND_RESTRICT`.
    Restrict(u32),
    /// `BTF_KIND_FUNC`.
    Func {
        /// The `FUNC_PROTO` type id.
        proto: u32,
        /// Linkage (static 0, global 1, extern 2).
        linkage: u32,
    },
    /// `BTF_KIND_FUNC_PROTO`.
    FuncProto {
        /// Return type.
        ret: u32,
        /// Parameters (name, type).
        params: Vec<(String, u32)>,
    },
    /// `BTF_KIND_VAR`.
    Var {
        /// Type of the variable.
        ty: u32,
        /// Linkage.
        linkage: u32,
    },
    /// `BTF_KIND_DATASEC`.
    Datasec {
        /// Size (0 in clang output).
        size: u32,
        /// Variables.
        vars: Vec<BtfDatasecVar>,
    },
    /// `BTF_KIND_FLOAT`.
    Float {
        /// Size in bytes.
        size: u32,
    },
    /// `BTF_KIND_DECL_TAG`.
    DeclTag {
        /// Tagged type.
        ty: u32,
        /// Member or parameter index, -1 for the type itself.
        component: i32,
    },
    /// `BTF_KIND_TYPE_TAG`.
    TypeTag(u32),
}

/// Parsed `.BTF` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Btf {
    types: Vec<BtfType>,
}

/// Little-endian reader over a byte slice that reports offsets in errors.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    section: &'static str,
    /// Added to `pos` in error offsets (offset of `data` in the section).
    base: usize,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8], section: &'static str, base: usize) -> Self {
        Reader {
            data,
            pos: 0,
            section,
            base,
        }
    }

    fn err(&self, reason: &'static str) -> ElfError {
        btf_error(self.section, self.base + self.pos, reason)
    }

    fn u32(&mut self) -> Result<u32, ElfError> {
        let bytes = self
            .data
            .get(self.pos..self.pos.saturating_add(4))
            .ok_or_else(|| self.err("unexpected end of data"))?;
        self.pos += 4;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn skip(&mut self, n: usize) -> Result<(), ElfError> {
        if self.data.len().saturating_sub(self.pos) < n {
            return Err(self.err("unexpected end of data"));
        }
        self.pos += n;
        Ok(())
    }

    fn at_end(&self) -> bool {
        self.pos >= self.data.len()
    }
}

#[cold]
fn btf_error(section: &'static str, offset: usize, reason: &'static str) -> ElfError {
    ElfError::Btf {
        section,
        offset,
        reason,
    }
}

fn u16_at(data: &[u8], off: usize) -> Option<u16> {
    let b = data.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn u32_at(data: &[u8], off: usize) -> Option<u32> {
    let b = data.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Header fields common to `.BTF` and `.BTF.ext`: checks the magic and returns the header length.
fn check_header(data: &[u8], section: &'static str) -> Result<usize, ElfError> {
    let magic = u16_at(data, 0).ok_or_else(|| btf_error(section, 0, "header truncated"))?;
    if magic != BTF_MAGIC {
        return Err(btf_error(section, 0, "bad magic (not little-endian BTF)"));
    }
    if data.get(2) != Some(&1) {
        return Err(btf_error(section, 2, "unsupported version"));
    }
    let hdr_len =
        u32_at(data, 4).ok_or_else(|| btf_error(section, 4, "header truncated"))? as usize;
    if hdr_len < 8 || hdr_len > data.len() {
        return Err(btf_error(section, 4, "bad header length"));
    }
    Ok(hdr_len)
}

/// Returns the sub-slice `[hdr_len + off, hdr_len + off + len)` of `data`.
fn sub_slice<'a>(
    data: &'a [u8],
    hdr_len: usize,
    off: u32,
    len: u32,
    section: &'static str,
    field_offset: usize,
) -> Result<&'a [u8], ElfError> {
    let start = hdr_len.checked_add(off as usize);
    let end = start.and_then(|s| s.checked_add(len as usize));
    match (start, end) {
        (Some(s), Some(e)) if e <= data.len() => Ok(&data[s..e]),
        _ => Err(btf_error(
            section,
            field_offset,
            "sub-section out of bounds",
        )),
    }
}

/// Reads a NUL-terminated string at `off` of a string table.
fn string_at(strings: &[u8], off: u32) -> Option<String> {
    let rest = strings.get(off as usize..)?;
    let end = rest.iter().position(|&b| b == 0)?;
    Some(String::from_utf8_lossy(&rest[..end]).into_owned())
}

impl Btf {
    /// Parses the raw bytes of a `.BTF` section.
    ///
    /// # Errors
    ///
    /// [`ElfError::Btf`] with the byte offset of the first malformed field.
    pub fn parse(data: &[u8]) -> Result<Btf, ElfError> {
        let hdr_len = check_header(data, BTF_SECTION)?;
        let field = |off: usize| {
            u32_at(data, off).ok_or_else(|| btf_error(BTF_SECTION, off, "header truncated"))
        };
        if hdr_len < 24 {
            return Err(btf_error(BTF_SECTION, 4, "bad header length"));
        }
        let (type_off, type_len, str_off, str_len) =
            (field(8)?, field(12)?, field(16)?, field(20)?);
        let type_data = sub_slice(data, hdr_len, type_off, type_len, BTF_SECTION, 8)?;
        let strings = sub_slice(data, hdr_len, str_off, str_len, BTF_SECTION, 16)?;
        let types_base = hdr_len + type_off as usize;
        let name = |off: u32, r: &Reader<'_>| {
            string_at(strings, off).ok_or_else(|| r.err("name offset outside the string table"))
        };

        let mut types = vec![BtfType {
            name: String::new(),
            kind: BtfKind::Void,
        }];
        let mut r = Reader::new(type_data, BTF_SECTION, types_base);
        while !r.at_end() {
            let name_off = r.u32()?;
            let info = r.u32()?;
            let size_or_type = r.u32()?;
            let vlen = (info & 0xffff) as usize;
            let kind_code = (info >> 24) & 0x1f;
            let kind_flag = info >> 31 == 1;
            let ty_name = name(name_off, &r)?;
            // Bound `vlen` by the remaining bytes before allocating.
            let remaining = type_data.len().saturating_sub(r.pos);
            let members = |r: &mut Reader<'_>, rec: usize| -> Result<(), ElfError> {
                if vlen.saturating_mul(rec) > remaining {
                    return Err(r.err("vlen runs past the end of the type section"));
                }
                Ok(())
            };
            let kind = match kind_code {
                1 => {
                    let extra = r.u32()?;
                    BtfKind::Int {
                        size: size_or_type,
                        signed: (extra >> 24) & 1 == 1,
                        bit_offset: ((extra >> 16) & 0xff) as u8,
                        bits: (extra & 0xff) as u8,
                    }
                }
                2 => BtfKind::Ptr(size_or_type),
                3 => BtfKind::Array {
                    elem: r.u32()?,
                    index: r.u32()?,
                    len: r.u32()?,
                },
                4 | 5 => {
                    members(&mut r, 12)?;
                    let mut list = Vec::with_capacity(vlen);
                    for _ in 0..vlen {
                        let m_name = r.u32()?;
                        let m_ty = r.u32()?;
                        let m_off = r.u32()?;
                        let (bit_offset, bitfield_size) = if kind_flag {
                            (m_off & 0x00ff_ffff, m_off >> 24)
                        } else {
                            (m_off, 0)
                        };
                        list.push(BtfMember {
                            name: name(m_name, &r)?,
                            ty: m_ty,
                            bit_offset,
                            bitfield_size,
                        });
                    }
                    if kind_code == 4 {
                        BtfKind::Struct {
                            size: size_or_type,
                            members: list,
                        }
                    } else {
                        BtfKind::Union {
                            size: size_or_type,
                            members: list,
                        }
                    }
                }
                6 | 19 => {
                    let rec = if kind_code == 6 { 8 } else { 12 };
                    members(&mut r, rec)?;
                    let mut values = Vec::with_capacity(vlen);
                    for _ in 0..vlen {
                        let v_name = r.u32()?;
                        let lo = r.u32()?;
                        let value = if kind_code == 6 {
                            if kind_flag {
                                i64::from(lo as i32)
                            } else {
                                i64::from(lo)
                            }
                        } else {
                            let hi = r.u32()?;
                            ((u64::from(hi) << 32) | u64::from(lo)) as i64
                        };
                        values.push((name(v_name, &r)?, value));
                    }
                    BtfKind::Enum {
                        size: size_or_type,
                        signed: kind_flag,
                        values,
                    }
                }
                7 => BtfKind::Fwd { union: kind_flag },
                8 => BtfKind::Typedef(size_or_type),
                9 => BtfKind::Volatile(size_or_type),
                10 => BtfKind::Const(size_or_type),
                11 => BtfKind::Restrict(size_or_type),
                12 => BtfKind::Func {
                    proto: size_or_type,
                    linkage: vlen as u32,
                },
                13 => {
                    members(&mut r, 8)?;
                    let mut params = Vec::with_capacity(vlen);
                    for _ in 0..vlen {
                        let p_name = r.u32()?;
                        let p_ty = r.u32()?;
                        params.push((name(p_name, &r)?, p_ty));
                    }
                    BtfKind::FuncProto {
                        ret: size_or_type,
                        params,
                    }
                }
                14 => BtfKind::Var {
                    ty: size_or_type,
                    linkage: r.u32()?,
                },
                15 => {
                    members(&mut r, 12)?;
                    let mut vars = Vec::with_capacity(vlen);
                    for _ in 0..vlen {
                        vars.push(BtfDatasecVar {
                            ty: r.u32()?,
                            offset: r.u32()?,
                            size: r.u32()?,
                        });
                    }
                    BtfKind::Datasec {
                        size: size_or_type,
                        vars,
                    }
                }
                16 => BtfKind::Float { size: size_or_type },
                17 => BtfKind::DeclTag {
                    ty: size_or_type,
                    component: r.u32()? as i32,
                },
                18 => BtfKind::TypeTag(size_or_type),
                _ => {
                    r.pos -= 12;
                    return Err(r.err("unknown BTF kind"));
                }
            };
            types.push(BtfType {
                name: ty_name,
                kind,
            });
        }
        Ok(Btf { types })
    }

    /// Number of types, including `void` (id 0).
    pub fn len(&self) -> usize {
        self.types.len()
    }

    /// Always false: id 0 (`void`) is always present.
    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }

    /// The type with id `id`.
    pub fn type_by_id(&self, id: u32) -> Option<&BtfType> {
        self.types.get(id as usize)
    }

    /// All types in id order (index = type id).
    pub fn types(&self) -> &[BtfType] {
        &self.types
    }

    /// Id of the first type named `name` for which `pred` holds.
    pub fn find_by_name(&self, name: &str, pred: impl Fn(&BtfKind) -> bool) -> Option<u32> {
        self.types
            .iter()
            .position(|t| t.name == name && pred(&t.kind))
            .map(|i| i as u32)
    }

    /// Follows typedefs and `const`/`volatile`/`restrict`/type-tag modifiers from `id`.
    ///
    /// Returns `None` for a dangling id or a cycle.
    pub fn skip_mods_and_typedefs(&self, mut id: u32) -> Option<u32> {
        for _ in 0..MAX_RESOLVE_DEPTH {
            match &self.type_by_id(id)?.kind {
                BtfKind::Typedef(t)
                | BtfKind::Volatile(t)
                | BtfKind::Const(t)
                | BtfKind::Restrict(t)
                | BtfKind::TypeTag(t) => id = *t,
                _ => return Some(id),
            }
        }
        None
    }

    /// Size in bytes of type `id` (pointers are 8 bytes).
    ///
    /// Returns `None` for types without a size (`void`, functions, forward declarations),
    /// dangling ids, cycles and overflowing array sizes.
    pub fn size_of(&self, id: u32) -> Option<u32> {
        self.size_of_depth(id, 0)
    }

    fn size_of_depth(&self, id: u32, depth: usize) -> Option<u32> {
        if depth > MAX_RESOLVE_DEPTH {
            return None;
        }
        let id = self.skip_mods_and_typedefs(id)?;
        match &self.type_by_id(id)?.kind {
            BtfKind::Int { size, .. }
            | BtfKind::Struct { size, .. }
            | BtfKind::Union { size, .. }
            | BtfKind::Enum { size, .. }
            | BtfKind::Float { size }
            | BtfKind::Datasec { size, .. } => Some(*size),
            BtfKind::Ptr(_) => Some(8),
            BtfKind::Array { elem, len, .. } => {
                self.size_of_depth(*elem, depth + 1)?.checked_mul(*len)
            }
            BtfKind::Var { ty, .. } => self.size_of_depth(*ty, depth + 1),
            _ => None,
        }
    }
}

/// A `func_info` record of `.BTF.ext`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncInfoRecord {
    /// Byte offset of the function's first instruction in its ELF section.
    pub insn_off: u32,
    /// BTF id of the `FUNC` type.
    pub type_id: u32,
}

/// A `line_info` record of `.BTF.ext`, with its strings resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInfoRecord {
    /// Byte offset of the instruction in its ELF section.
    pub insn_off: u32,
    /// Source file name.
    pub file: String,
    /// Source line text.
    pub source: String,
    /// Line number.
    pub line: u32,
    /// Column number.
    pub col: u32,
}

/// A CO-RE relocation record (`struct bpf_core_relo`) of `.BTF.ext`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreReloRecord {
    /// Byte offset of the instruction in its ELF section.
    pub insn_off: u32,
    /// Local BTF id of the root type.
    pub type_id: u32,
    /// Access string, e.g. `"0:1:2"`.
    pub access: String,
    /// `enum bpf_core_relo_kind` value.
    pub kind: u32,
}

/// Records of one ELF section in one `.BTF.ext` sub-section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionRecords<T> {
    /// ELF section name the records apply to.
    pub section: String,
    /// The records.
    pub records: Vec<T>,
}

/// Parsed `.BTF.ext` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BtfExt {
    /// `func_info` records per section.
    pub func_info: Vec<SectionRecords<FuncInfoRecord>>,
    /// `line_info` records per section.
    pub line_info: Vec<SectionRecords<LineInfoRecord>>,
    /// CO-RE relocation records per section.
    pub core_relo: Vec<SectionRecords<CoreReloRecord>>,
}

impl BtfExt {
    /// Parses the raw bytes of a `.BTF.ext` section; strings come from `btf_data`'s string table.
    ///
    /// # Errors
    ///
    /// [`ElfError::Btf`] with the offset of the first malformed field.
    pub fn parse(data: &[u8], btf_data: &[u8]) -> Result<BtfExt, ElfError> {
        let strings = btf_strings(btf_data)?;
        let hdr_len = check_header(data, BTF_EXT_SECTION)?;
        let field = |off: usize| {
            if off + 4 > hdr_len {
                return Ok(0);
            }
            u32_at(data, off).ok_or_else(|| btf_error(BTF_EXT_SECTION, off, "header truncated"))
        };
        let mut ext = BtfExt::default();
        let str_of = |off: u32, at: usize| {
            string_at(strings, off)
                .ok_or_else(|| btf_error(BTF_EXT_SECTION, at, "string offset outside .BTF strings"))
        };

        // func_info
        let (off, len) = (field(8)?, field(12)?);
        let sub = sub_slice(data, hdr_len, off, len, BTF_EXT_SECTION, 8)?;
        let base = hdr_len + off as usize;
        ext.func_info = parse_info(sub, base, &str_of, 8, |r| {
            Ok(FuncInfoRecord {
                insn_off: r.u32()?,
                type_id: r.u32()?,
            })
        })?;
        // line_info
        let (off, len) = (field(16)?, field(20)?);
        let sub = sub_slice(data, hdr_len, off, len, BTF_EXT_SECTION, 16)?;
        let base = hdr_len + off as usize;
        ext.line_info = parse_info(sub, base, &str_of, 16, |r| {
            let at = r.base + r.pos;
            let insn_off = r.u32()?;
            let file = str_of(r.u32()?, at)?;
            let source = str_of(r.u32()?, at)?;
            let line_col = r.u32()?;
            Ok(LineInfoRecord {
                insn_off,
                file,
                source,
                line: line_col >> 10,
                col: line_col & 0x3ff,
            })
        })?;
        // core_relo (present when the header is at least 32 bytes long)
        if hdr_len >= 32 {
            let (off, len) = (field(24)?, field(28)?);
            let sub = sub_slice(data, hdr_len, off, len, BTF_EXT_SECTION, 24)?;
            let base = hdr_len + off as usize;
            ext.core_relo = parse_info(sub, base, &str_of, 16, |r| {
                let at = r.base + r.pos;
                Ok(CoreReloRecord {
                    insn_off: r.u32()?,
                    type_id: r.u32()?,
                    access: str_of(r.u32()?, at)?,
                    kind: r.u32()?,
                })
            })?;
        }
        Ok(ext)
    }
}

/// Returns the string table of a `.BTF` section.
fn btf_strings(data: &[u8]) -> Result<&[u8], ElfError> {
    let hdr_len = check_header(data, BTF_SECTION)?;
    let str_off = u32_at(data, 16).ok_or_else(|| btf_error(BTF_SECTION, 16, "header truncated"))?;
    let str_len = u32_at(data, 20).ok_or_else(|| btf_error(BTF_SECTION, 20, "header truncated"))?;
    sub_slice(data, hdr_len, str_off, str_len, BTF_SECTION, 16)
}

/// Parses one `.BTF.ext` info sub-section: `rec_size`, then `{sec_name_off, num_info, records}`*.
fn parse_info<T>(
    data: &[u8],
    base: usize,
    str_of: &dyn Fn(u32, usize) -> Result<String, ElfError>,
    min_rec: usize,
    mut read: impl FnMut(&mut Reader<'_>) -> Result<T, ElfError>,
) -> Result<Vec<SectionRecords<T>>, ElfError> {
    let mut out = Vec::new();
    if data.is_empty() {
        return Ok(out);
    }
    let mut r = Reader::new(data, BTF_EXT_SECTION, base);
    let rec_size = r.u32()? as usize;
    if rec_size < min_rec || !rec_size.is_multiple_of(4) {
        return Err(btf_error(BTF_EXT_SECTION, base, "bad record size"));
    }
    while !r.at_end() {
        let at = base + r.pos;
        let section = str_of(r.u32()?, at)?;
        let num = r.u32()? as usize;
        if num.saturating_mul(rec_size) > data.len() - r.pos {
            return Err(btf_error(
                BTF_EXT_SECTION,
                at,
                "record count runs past the end",
            ));
        }
        let mut records = Vec::with_capacity(num);
        for _ in 0..num {
            let start = r.pos;
            records.push(read(&mut r)?);
            // Skip the tail of records larger than the fields we know.
            let used = r.pos - start;
            r.skip(rec_size - used)?;
        }
        out.push(SectionRecords { section, records });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a `.BTF` section from raw type words and a string table.
    pub(crate) fn fake_btf(types: &[u32], strings: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&BTF_MAGIC.to_le_bytes());
        out.extend_from_slice(&[1, 0]);
        let type_len = (types.len() * 4) as u32;
        for w in [24u32, 0, type_len, type_len, strings.len() as u32] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        for w in types {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(strings);
        out
    }

    #[test]
    fn parses_int_ptr_struct() {
        // strings: 0 "", 1 "int", 5 "s", 7 "a"
        let strings = b"\0int\0s\0a\0";
        let types = [
            1,
            1 << 24,
            4,
            (1 << 24) | 32, // [1] int, signed, 32 bits
            0,
            2 << 24,
            1, // [2] ptr -> int
            5,
            (4 << 24) | 1,
            8,
            7,
            2,
            0, // [3] struct s { int *a; }
        ];
        let btf = Btf::parse(&fake_btf(&types, strings)).unwrap();
        assert_eq!(btf.len(), 4);
        assert_eq!(btf.type_by_id(3).unwrap().name, "s");
        assert_eq!(btf.size_of(3), Some(8));
        assert_eq!(btf.size_of(1), Some(4));
        assert_eq!(
            btf.find_by_name("s", |k| matches!(k, BtfKind::Struct { .. })),
            Some(3)
        );
    }

    #[test]
    fn rejects_bad_magic_and_kind() {
        assert!(matches!(
            Btf::parse(&[0, 0, 1, 0]),
            Err(ElfError::Btf { offset: 0, .. })
        ));
        let bad = fake_btf(&[0, 31 << 24, 0], b"\0");
        assert!(matches!(
            Btf::parse(&bad),
            Err(ElfError::Btf {
                offset: 24,
                reason: "unknown BTF kind",
                ..
            })
        ));
    }

    #[test]
    fn rejects_huge_vlen() {
        let bad = fake_btf(&[0, (4 << 24) | 0xffff, 8], b"\0");
        assert!(matches!(Btf::parse(&bad), Err(ElfError::Btf { .. })));
    }
}
