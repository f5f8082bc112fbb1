//! Values decoded by their BTF type: map keys and values, and global variables.
//!
//! [`decode`] turns raw bytes plus a BTF type id into a [`TypedValue`] tree, which prints as
//! text with `Display` (`{x=1, y=2, z=3}`, `4200`, `-5`, `[1, 2, 3]`, `"name"`,
//! `0xdeadbeef`, `true`, `RED`) and converts to JSON with [`TypedValue::to_json`] for the web
//! app; [`format_value`] does both steps for text. Types come from:
//!
//! - the object's own `.maps`: [`map_types`] reads the `__type(key, ..)` and
//!   `__type(value, ..)` members of the map's BTF definition;
//! - global data (`.bss`, `.data`, `.rodata`, ...): [`global_layouts`] lists each `DATASEC`'s
//!   variables with their names, types and offsets (taken from the ELF symbols, as libbpf
//!   does, because clang leaves the `DATASEC` offsets of global variables at 0);
//! - a type named by the user (the scenario's `key_type` / `value_type` for the iterated
//!   map, which is not in the object): [`find_type`] resolves `"struct triple"`, `"__u64"`,
//!   `"enum color"`.
//!
//! For editing, [`leaves`] flattens a type into its scalar fields ([`FieldLeaf`]: `x`,
//! `inner.y`, `arr[2]` with byte offset, size and signedness), and [`encode_leaf`] /
//! [`decode_leaf`] write and read one leaf's integer little-endian inside the type's bytes.
//!
//! Out of scope: guessing the iterated map's types from the program (BTF has no types of
//! local variables, so the casts of `ctx->key` are not recorded), `BTF_KIND_FLOAT` sizes
//! other than 4 and 8 (shown as hex), and big-endian data. Decoding never panics: malformed
//! BTF, dangling ids, cycles and short byte slices are [`TypedError`]s naming the type and
//! the byte offset.

use std::fmt;

use serde_json::{json, Value};

use super::btf::{Btf, BtfKind};
use super::sections::{ElfSections, STT_SECTION};
use super::ElfError;

/// Maximum nesting depth of a decoded value (struct in array in struct ...).
const MAX_DEPTH: usize = 32;
/// Maximum number of decoded nodes in one value, so a huge array cannot exhaust memory.
const MAX_NODES: usize = 1 << 16;

/// Why a value cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TypedError {
    /// The type id is not in the BTF, or a typedef chain dangles or loops.
    #[error("type id {id} does not exist or does not resolve")]
    NoSuchType {
        /// The type id.
        id: u32,
    },
    /// The bytes end before the value does.
    #[error("type `{ty}` at offset {offset}: needs {need} bytes, only {have} available")]
    Short {
        /// C spelling of the type.
        ty: String,
        /// Byte offset of the value in the decoded buffer.
        offset: usize,
        /// Bytes the value needs from the start of the buffer.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// The type cannot be decoded (no size, a function, a misplaced member, too deep).
    #[error("type `{ty}` at offset {offset}: {reason}")]
    Unsupported {
        /// C spelling of the type.
        ty: String,
        /// Byte offset of the value in the decoded buffer.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// No type of that name in the BTF.
    #[error("no BTF type named `{name}`")]
    NotFound {
        /// The name looked up.
        name: String,
    },
    /// An integer does not fit a leaf's size and signedness.
    #[error("field `{path}`: {value} does not fit {ty}")]
    OutOfRange {
        /// The leaf's path (`inner.y`).
        path: String,
        /// The value given.
        value: i128,
        /// The leaf's integer type (`u32`, `s8`).
        ty: String,
    },
    /// The value has more elements than the decoder produces.
    #[error("value has more than {limit} elements")]
    TooLarge {
        /// The element limit.
        limit: usize,
    },
}

/// A decoded value.
#[derive(Debug, Clone, PartialEq)]
pub enum TypedValue {
    /// An integer (any size up to 128 bits; bitfields included).
    Int(i128),
    /// `_Bool` / `bool`.
    Bool(bool),
    /// `float` / `double`.
    Float(f64),
    /// An enum value, with the enumerator's name when one matches.
    Enum {
        /// Enumerator name, `None` when no enumerator has this value.
        name: Option<String>,
        /// The numeric value.
        value: i64,
    },
    /// A pointer (printed in hex).
    Ptr(u64),
    /// A `char` array holding printable text up to its first NUL.
    Str(String),
    /// An array.
    Array(Vec<TypedValue>),
    /// A struct or union: members in declaration order (`""` for anonymous members).
    Struct(Vec<(String, TypedValue)>),
    /// Bytes of a type without a decodable shape (unusual float sizes), printed in hex.
    Opaque(Vec<u8>),
}

impl fmt::Display for TypedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypedValue::Int(v) => write!(f, "{v}"),
            TypedValue::Bool(b) => write!(f, "{b}"),
            TypedValue::Float(x) => write!(f, "{x}"),
            TypedValue::Enum {
                name: Some(n),
                value: _,
            } => f.write_str(n),
            TypedValue::Enum { name: None, value } => write!(f, "{value}"),
            TypedValue::Ptr(p) => write!(f, "{p:#x}"),
            TypedValue::Str(s) => write!(f, "{s:?}"),
            TypedValue::Array(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            TypedValue::Struct(members) => {
                f.write_str("{")?;
                for (i, (name, v)) in members.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if name.is_empty() {
                        write!(f, "{v}")?;
                    } else {
                        write!(f, "{name}={v}")?;
                    }
                }
                f.write_str("}")
            }
            TypedValue::Opaque(b) => {
                f.write_str("0x")?;
                for x in b {
                    write!(f, "{x:02x}")?;
                }
                Ok(())
            }
        }
    }
}

impl TypedValue {
    /// Structured form: numbers (strings beyond 64 bits), booleans, enum names, pointers
    /// and opaque bytes as `"0x.."` strings, arrays, and objects for structs (the members of
    /// an anonymous struct or union member are merged into the parent object).
    pub fn to_json(&self) -> Value {
        match self {
            TypedValue::Int(v) => {
                if let Ok(x) = i64::try_from(*v) {
                    json!(x)
                } else if let Ok(x) = u64::try_from(*v) {
                    json!(x)
                } else {
                    json!(v.to_string())
                }
            }
            TypedValue::Bool(b) => json!(b),
            TypedValue::Float(x) => {
                serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number)
            }
            TypedValue::Enum { name: Some(n), .. } => json!(n),
            TypedValue::Enum { name: None, value } => json!(value),
            TypedValue::Str(s) => json!(s),
            TypedValue::Ptr(_) | TypedValue::Opaque(_) => json!(self.to_string()),
            TypedValue::Array(items) => {
                Value::Array(items.iter().map(TypedValue::to_json).collect())
            }
            TypedValue::Struct(members) => {
                let mut o = serde_json::Map::new();
                for (name, v) in members {
                    match (name.is_empty(), v.to_json()) {
                        (true, Value::Object(inner)) => o.extend(inner),
                        (_, j) => {
                            o.insert(name.clone(), j);
                        }
                    }
                }
                Value::Object(o)
            }
        }
    }
}

/// Decodes `bytes` as a value of BTF type `type_id`. Bytes past the type's size are ignored.
///
/// # Errors
///
/// A [`TypedError`] naming the type and byte offset when the BTF is malformed or the bytes
/// are too short.
pub fn decode(btf: &Btf, type_id: u32, bytes: &[u8]) -> Result<TypedValue, TypedError> {
    let mut d = Decoder {
        btf,
        data: bytes,
        nodes: 0,
    };
    d.value(type_id, 0, 0)
}

/// Formats `bytes` as a value of BTF type `type_id`: `{x=1, y=2, z=3}`, `4200`, `-5`,
/// `[1, 2, 3]`, `"name"`, `0xdeadbeef`.
///
/// # Errors
///
/// As [`decode`].
///
/// # Examples
///
/// ```no_run
/// use iterscope_emulator::elf::{self, typed};
/// let bytes = std::fs::read("prog.bpf.o").unwrap();
/// let obj = elf::parse(&bytes, "prog").unwrap();
/// let btf = obj.btf.as_ref().unwrap();
/// let triple = typed::find_type(btf, "struct triple").unwrap();
/// let key = [4, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0];
/// assert_eq!(typed::format_value(btf, triple, &key).unwrap(), "{x=4, y=5, z=6}");
/// ```
pub fn format_value(btf: &Btf, type_id: u32, bytes: &[u8]) -> Result<String, TypedError> {
    decode(btf, type_id, bytes).map(|v| v.to_string())
}

/// Like [`format_value`], in the structured form of [`TypedValue::to_json`].
///
/// # Errors
///
/// As [`decode`].
pub fn value_json(btf: &Btf, type_id: u32, bytes: &[u8]) -> Result<Value, TypedError> {
    decode(btf, type_id, bytes).map(|v| v.to_json())
}

struct Decoder<'a> {
    btf: &'a Btf,
    data: &'a [u8],
    nodes: usize,
}

impl Decoder<'_> {
    fn unsupported(&self, id: u32, offset: usize, reason: &'static str) -> TypedError {
        TypedError::Unsupported {
            ty: type_name(self.btf, id),
            offset,
            reason,
        }
    }

    /// The `size` bytes at `offset`, or a [`TypedError::Short`] naming type `id`.
    fn bytes(&self, id: u32, offset: usize, size: usize) -> Result<&[u8], TypedError> {
        let need = offset.saturating_add(size);
        self.data
            .get(offset..need)
            .ok_or_else(|| TypedError::Short {
                ty: type_name(self.btf, id),
                offset,
                need,
                have: self.data.len(),
            })
    }

    fn value(&mut self, id: u32, offset: usize, depth: usize) -> Result<TypedValue, TypedError> {
        if depth > MAX_DEPTH {
            return Err(self.unsupported(id, offset, "nested too deeply"));
        }
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(TypedError::TooLarge { limit: MAX_NODES });
        }
        let btf = self.btf;
        let rid = btf
            .skip_mods_and_typedefs(id)
            .ok_or(TypedError::NoSuchType { id })?;
        let ty = btf
            .type_by_id(rid)
            .ok_or(TypedError::NoSuchType { id: rid })?;
        match &ty.kind {
            BtfKind::Int {
                size,
                signed,
                bit_offset,
                bits,
            } => {
                let raw = self.bytes(id, offset, *size as usize)?;
                if *size > 16 {
                    return Ok(TypedValue::Opaque(raw.to_vec()));
                }
                let v = extract(raw, u32::from(*bit_offset), u32::from(*bits), *signed);
                Ok(int_value(&ty.name, v))
            }
            BtfKind::Enum {
                size,
                signed,
                values,
            } => {
                let raw = self.bytes(id, offset, *size as usize)?;
                if *size > 8 {
                    return Ok(TypedValue::Opaque(raw.to_vec()));
                }
                let v = extract(raw, 0, size * 8, *signed) as i64;
                Ok(enum_value(values, v))
            }
            BtfKind::Ptr(_) => {
                let raw = self.bytes(id, offset, 8)?;
                Ok(TypedValue::Ptr(extract(raw, 0, 64, false) as u64))
            }
            BtfKind::Float { size } => {
                let raw = self.bytes(id, offset, *size as usize)?;
                Ok(match *raw {
                    [a, b, c, d] => TypedValue::Float(f64::from(f32::from_le_bytes([a, b, c, d]))),
                    [a, b, c, d, e, f, g, h] => {
                        TypedValue::Float(f64::from_le_bytes([a, b, c, d, e, f, g, h]))
                    }
                    _ => TypedValue::Opaque(raw.to_vec()),
                })
            }
            BtfKind::Array { elem, len, .. } => self.array(id, *elem, *len, offset, depth),
            BtfKind::Struct { size, members } | BtfKind::Union { size, members } => {
                // Check the whole struct first so a short buffer names the struct.
                self.bytes(id, offset, *size as usize)?;
                let mut out = Vec::with_capacity(members.len());
                for m in members {
                    let v = if m.bitfield_size > 0 {
                        self.bitfield(m.ty, offset, m.bit_offset, m.bitfield_size)?
                    } else {
                        if m.bit_offset % 8 != 0 {
                            return Err(self.unsupported(
                                id,
                                offset,
                                "member is not byte-aligned and not a bitfield",
                            ));
                        }
                        let at = offset.saturating_add((m.bit_offset / 8) as usize);
                        self.value(m.ty, at, depth + 1)?
                    };
                    out.push((m.name.clone(), v));
                }
                Ok(TypedValue::Struct(out))
            }
            BtfKind::Var { ty, .. } => self.value(*ty, offset, depth + 1),
            BtfKind::Void => Err(self.unsupported(id, offset, "void has no value")),
            BtfKind::Fwd { .. } => {
                Err(self.unsupported(id, offset, "forward declaration has no size"))
            }
            _ => Err(self.unsupported(id, offset, "not a data type")),
        }
    }

    fn array(
        &mut self,
        id: u32,
        elem: u32,
        len: u32,
        offset: usize,
        depth: usize,
    ) -> Result<TypedValue, TypedError> {
        let esize = self
            .btf
            .size_of(elem)
            .ok_or_else(|| self.unsupported(id, offset, "array element has no size"))?
            as usize;
        let total = esize
            .checked_mul(len as usize)
            .ok_or_else(|| self.unsupported(id, offset, "array size overflows"))?;
        let raw = self.bytes(id, offset, total)?;
        if is_char(self.btf, elem) {
            if let Some(s) = printable_string(raw) {
                return Ok(TypedValue::Str(s));
            }
        }
        if esize == 0 {
            return Ok(TypedValue::Array(Vec::new()));
        }
        if len as usize > MAX_NODES {
            return Err(TypedError::TooLarge { limit: MAX_NODES });
        }
        let mut items = Vec::with_capacity(len as usize);
        for i in 0..len as usize {
            items.push(self.value(elem, offset + i * esize, depth + 1)?);
        }
        Ok(TypedValue::Array(items))
    }

    /// A bitfield member of `width` bits at `bit_offset` bits from the struct at `offset`.
    fn bitfield(
        &self,
        ty: u32,
        offset: usize,
        bit_offset: u32,
        width: u32,
    ) -> Result<TypedValue, TypedError> {
        let rid = self
            .btf
            .skip_mods_and_typedefs(ty)
            .ok_or(TypedError::NoSuchType { id: ty })?;
        let t = self
            .btf
            .type_by_id(rid)
            .ok_or(TypedError::NoSuchType { id: rid })?;
        if width > 128 {
            return Err(self.unsupported(ty, offset, "bitfield wider than 128 bits"));
        }
        let first = offset.saturating_add((bit_offset / 8) as usize);
        let shift = bit_offset % 8;
        let nbytes = (shift + width).div_ceil(8) as usize;
        let raw = self.bytes(ty, first, nbytes)?;
        match &t.kind {
            BtfKind::Int { signed, .. } => {
                Ok(int_value(&t.name, extract(raw, shift, width, *signed)))
            }
            BtfKind::Enum { signed, values, .. } => Ok(enum_value(
                values,
                extract(raw, shift, width, *signed) as i64,
            )),
            _ => Err(self.unsupported(ty, offset, "bitfield of a type that is not int or enum")),
        }
    }
}

/// Reads `bits` bits (all of `raw` when 0) starting `shift` bits into little-endian `raw`,
/// sign-extended when `signed`. At most 128 bits are read.
fn extract(raw: &[u8], shift: u32, bits: u32, signed: bool) -> i128 {
    let total = (raw.len() as u32).saturating_mul(8);
    let bits = if bits == 0 { total } else { bits }.min(128);
    let mut v: u128 = 0;
    for i in 0..bits {
        let pos = shift + i;
        let bit = raw
            .get((pos / 8) as usize)
            .map_or(0, |b| (b >> (pos % 8)) & 1);
        v |= u128::from(bit) << i;
    }
    if signed && bits > 0 && bits < 128 && (v >> (bits - 1)) & 1 == 1 {
        v |= u128::MAX << bits;
    }
    v as i128
}

fn int_value(name: &str, v: i128) -> TypedValue {
    if name == "_Bool" || name == "bool" {
        TypedValue::Bool(v != 0)
    } else {
        TypedValue::Int(v)
    }
}

fn enum_value(values: &[(String, i64)], v: i64) -> TypedValue {
    let name = values.iter().find(|(_, x)| *x == v).map(|(n, _)| n.clone());
    TypedValue::Enum { name, value: v }
}

/// Most leaves [`leaves`] produces for one type (a large array is edited as hex instead).
pub const MAX_LEAVES: usize = 1024;

/// One scalar field of a flattened type: an integer, enum, pointer or float, or one element
/// of an array of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldLeaf {
    /// Member path: `x`, `inner.y`, `arr[2]`; `""` when the type itself is a scalar. Members
    /// of anonymous structs and unions take no path segment.
    pub path: String,
    /// Byte offset from the start of the type.
    pub offset: u32,
    /// Size in bytes (1 to 16).
    pub size: u32,
    /// Whether the integer is signed (signed `int`s and enums with signed values); pointers
    /// and floats (edited as their bit pattern) are unsigned.
    pub signed: bool,
}

impl FieldLeaf {
    /// The leaf's integer type as the kernel spells sizes: `u32`, `s8`, `u128`.
    pub fn int_type(&self) -> String {
        format!("{}{}", if self.signed { 's' } else { 'u' }, self.size * 8)
    }
}

/// The scalar fields of type `type_id` in declaration order (struct and union members, array
/// elements, nested types flattened; the members of a union overlap).
///
/// # Errors
///
/// [`TypedError::Unsupported`] for a type with bitfields, a misaligned member, a scalar wider
/// than 16 bytes or no size (such types are edited as hex); [`TypedError::TooLarge`] beyond
/// [`MAX_LEAVES`] leaves; [`TypedError::NoSuchType`] for dangling ids.
///
/// # Examples
///
/// ```no_run
/// use iterscope_emulator::elf::{self, typed};
/// let bytes = std::fs::read("examples/selftest_hash_map.bpf.o").unwrap();
/// let obj = elf::parse(&bytes, "prog").unwrap();
/// let btf = obj.btf.as_ref().unwrap();
/// let triple = typed::find_type(btf, "struct triple").unwrap();
/// let paths: Vec<String> = typed::leaves(btf, triple).unwrap().into_iter().map(|l| l.path).collect();
/// assert_eq!(paths, ["a", "b", "c"]);
/// ```
pub fn leaves(btf: &Btf, type_id: u32) -> Result<Vec<FieldLeaf>, TypedError> {
    let mut out = Vec::new();
    collect_leaves(btf, type_id, "", 0, 0, &mut out)?;
    Ok(out)
}

fn collect_leaves(
    btf: &Btf,
    id: u32,
    path: &str,
    offset: u32,
    depth: usize,
    out: &mut Vec<FieldLeaf>,
) -> Result<(), TypedError> {
    let unsupported = |reason| TypedError::Unsupported {
        ty: type_name(btf, id),
        offset: offset as usize,
        reason,
    };
    if depth > MAX_DEPTH {
        return Err(unsupported("nested too deeply"));
    }
    let rid = btf
        .skip_mods_and_typedefs(id)
        .ok_or(TypedError::NoSuchType { id })?;
    let ty = btf
        .type_by_id(rid)
        .ok_or(TypedError::NoSuchType { id: rid })?;
    let mut leaf = |size: u32, signed: bool| {
        if out.len() >= MAX_LEAVES {
            return Err(TypedError::TooLarge { limit: MAX_LEAVES });
        }
        if size == 0 || size > 16 {
            return Err(unsupported("scalar is not 1 to 16 bytes"));
        }
        out.push(FieldLeaf {
            path: path.to_string(),
            offset,
            size,
            signed,
        });
        Ok(())
    };
    match &ty.kind {
        BtfKind::Int { size, signed, .. } => leaf(*size, *signed),
        BtfKind::Enum { size, signed, .. } => leaf(*size, *signed),
        BtfKind::Ptr(_) => leaf(8, false),
        BtfKind::Float { size } => leaf(*size, false),
        BtfKind::Var { ty, .. } => collect_leaves(btf, *ty, path, offset, depth + 1, out),
        BtfKind::Array { elem, len, .. } => {
            let esize = btf
                .size_of(*elem)
                .ok_or_else(|| unsupported("array element has no size"))?;
            if *len as usize > MAX_LEAVES {
                return Err(TypedError::TooLarge { limit: MAX_LEAVES });
            }
            for i in 0..*len {
                let at = i
                    .checked_mul(esize)
                    .and_then(|o| o.checked_add(offset))
                    .ok_or_else(|| unsupported("array size overflows"))?;
                collect_leaves(btf, *elem, &format!("{path}[{i}]"), at, depth + 1, out)?;
            }
            Ok(())
        }
        BtfKind::Struct { members, .. } | BtfKind::Union { members, .. } => {
            for m in members {
                if m.bitfield_size > 0 {
                    return Err(unsupported("bitfield members are edited as hex"));
                }
                if m.bit_offset % 8 != 0 {
                    return Err(unsupported("member is not byte-aligned"));
                }
                let at = offset
                    .checked_add(m.bit_offset / 8)
                    .ok_or_else(|| unsupported("member offset overflows"))?;
                let sub = match (path.is_empty(), m.name.is_empty()) {
                    (_, true) => path.to_string(),
                    (true, false) => m.name.clone(),
                    (false, false) => format!("{path}.{}", m.name),
                };
                collect_leaves(btf, m.ty, &sub, at, depth + 1, out)?;
            }
            Ok(())
        }
        BtfKind::Void => Err(unsupported("void has no value")),
        BtfKind::Fwd { .. } => Err(unsupported("forward declaration has no size")),
        _ => Err(unsupported("not a data type")),
    }
}

/// The bytes of `leaf` inside `bytes`, or [`TypedError::Short`].
fn leaf_range(leaf: &FieldLeaf, have: usize) -> Result<std::ops::Range<usize>, TypedError> {
    let start = leaf.offset as usize;
    let end = start.saturating_add(leaf.size as usize);
    if end > have || leaf.size > 16 {
        return Err(TypedError::Short {
            ty: leaf.int_type(),
            offset: start,
            need: end,
            have,
        });
    }
    Ok(start..end)
}

/// Reads `leaf` from the little-endian `bytes` of its whole type, sign-extended when the leaf
/// is signed. Unsigned 128-bit leaves above `i128::MAX` read as negative numbers.
///
/// # Errors
///
/// [`TypedError::Short`] when `bytes` ends before the leaf does.
pub fn decode_leaf(leaf: &FieldLeaf, bytes: &[u8]) -> Result<i128, TypedError> {
    let r = leaf_range(leaf, bytes.len())?;
    Ok(extract(&bytes[r], 0, leaf.size * 8, leaf.signed))
}

/// Writes `value` into `leaf`'s bytes of `bytes` (little-endian), leaving the other bytes
/// (other fields, padding) as they are.
///
/// # Errors
///
/// [`TypedError::OutOfRange`] when `value` does not fit the leaf's size and signedness,
/// [`TypedError::Short`] when `bytes` ends before the leaf does. `bytes` is unchanged then.
pub fn encode_leaf(leaf: &FieldLeaf, value: i128, bytes: &mut [u8]) -> Result<(), TypedError> {
    let r = leaf_range(leaf, bytes.len())?;
    let bits = leaf.size * 8;
    let fits = match (leaf.signed, bits) {
        (true, 128) => true,
        (false, 128) => value >= 0,
        (true, b) => (-(1i128 << (b - 1))..(1i128 << (b - 1))).contains(&value),
        (false, b) => (0..(1i128 << b)).contains(&value),
    };
    if !fits {
        return Err(TypedError::OutOfRange {
            path: leaf.path.clone(),
            value,
            ty: leaf.int_type(),
        });
    }
    let le = value.to_le_bytes();
    bytes[r].copy_from_slice(&le[..leaf.size as usize]);
    Ok(())
}

/// True when `id` is (a typedef or qualifier of) the 1-byte integer `char`.
fn is_char(btf: &Btf, id: u32) -> bool {
    btf.skip_mods_and_typedefs(id)
        .and_then(|r| btf.type_by_id(r))
        .is_some_and(|t| matches!(t.kind, BtfKind::Int { size: 1, .. }) && t.name == "char")
}

/// The text of a `char` array up to its first NUL, when it is printable.
fn printable_string(raw: &[u8]) -> Option<String> {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    // Bytes after the NUL must be NULs too, or the array is not a C string.
    if raw[end..].iter().any(|&b| b != 0) {
        return None;
    }
    let s = std::str::from_utf8(&raw[..end]).ok()?;
    s.chars()
        .all(|c| !c.is_control() || c == '\n' || c == '\t')
        .then(|| s.to_string())
}

/// C spelling of type `id`: `struct triple`, `__u32`, `char[16]`, `int *`, `const char`.
///
/// Unknown ids print as `type#ID`; never fails.
pub fn type_name(btf: &Btf, id: u32) -> String {
    type_name_depth(btf, id, 0)
}

fn type_name_depth(btf: &Btf, id: u32, depth: usize) -> String {
    let Some(t) = btf.type_by_id(id) else {
        return format!("type#{id}");
    };
    if depth > MAX_DEPTH {
        return "...".into();
    }
    let named = |prefix: &str| {
        if t.name.is_empty() {
            format!("{prefix}(anon)")
        } else {
            format!("{prefix}{}", t.name)
        }
    };
    match &t.kind {
        BtfKind::Void => "void".into(),
        BtfKind::Struct { .. } => named("struct "),
        BtfKind::Union { .. } => named("union "),
        BtfKind::Enum { .. } => named("enum "),
        BtfKind::Fwd { union: true } => named("union "),
        BtfKind::Fwd { union: false } => named("struct "),
        BtfKind::Ptr(t) => format!("{} *", type_name_depth(btf, *t, depth + 1)),
        BtfKind::Array { elem, len, .. } => {
            format!("{}[{len}]", type_name_depth(btf, *elem, depth + 1))
        }
        BtfKind::Const(t) => format!("const {}", type_name_depth(btf, *t, depth + 1)),
        BtfKind::Volatile(t) => format!("volatile {}", type_name_depth(btf, *t, depth + 1)),
        BtfKind::Restrict(t) | BtfKind::TypeTag(t) => type_name_depth(btf, *t, depth + 1),
        _ => named(""),
    }
}

/// Id of the type spelt `name`: `struct NAME`, `union NAME`, `enum NAME`, or a bare name of
/// a typedef, integer, float, enum, struct or union (in that order of preference).
///
/// # Errors
///
/// [`TypedError::NotFound`] when no type has that name.
pub fn find_type(btf: &Btf, name: &str) -> Result<u32, TypedError> {
    let name = name.trim();
    let words: Vec<&str> = name.split_whitespace().collect();
    let found = match words.as_slice() {
        ["struct", n] => btf.find_by_name(n, |k| matches!(k, BtfKind::Struct { .. })),
        ["union", n] => btf.find_by_name(n, |k| matches!(k, BtfKind::Union { .. })),
        ["enum", n] => btf.find_by_name(n, |k| matches!(k, BtfKind::Enum { .. })),
        _ => [
            |k: &BtfKind| matches!(k, BtfKind::Typedef(_)),
            |k: &BtfKind| matches!(k, BtfKind::Int { .. } | BtfKind::Float { .. }),
            |k: &BtfKind| matches!(k, BtfKind::Enum { .. }),
            |k: &BtfKind| matches!(k, BtfKind::Struct { .. } | BtfKind::Union { .. }),
        ]
        .into_iter()
        .find_map(|pred| btf.find_by_name(name, pred)),
    };
    found.ok_or_else(|| TypedError::NotFound {
        name: name.to_string(),
    })
}

/// Key and value types of a BTF-defined map of `.maps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapTypes {
    /// Type of `__type(key, ..)`, `None` when the map gives only `__uint(key_size, ..)`.
    pub key: Option<u32>,
    /// Type of `__type(value, ..)`, `None` when the map gives only a size.
    pub value: Option<u32>,
}

/// Key and value types of the map `map_name` defined in `.maps`; `None` when there is no
/// such map definition in the BTF.
pub fn map_types(btf: &Btf, map_name: &str) -> Option<MapTypes> {
    let var = btf.find_by_name(map_name, |k| matches!(k, BtfKind::Var { .. }))?;
    let BtfKind::Var { ty, .. } = btf.type_by_id(var)?.kind else {
        return None;
    };
    let def = btf.type_by_id(btf.skip_mods_and_typedefs(ty)?)?;
    let BtfKind::Struct { members, .. } = &def.kind else {
        return None;
    };
    let pointee = |member: &str| {
        let m = members.iter().find(|m| m.name == member)?;
        match btf.type_by_id(btf.skip_mods_and_typedefs(m.ty)?)?.kind {
            BtfKind::Ptr(t) => Some(t),
            _ => None,
        }
    };
    Some(MapTypes {
        key: pointee("key"),
        value: pointee("value"),
    })
}

/// A variable of a global data section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalVar {
    /// Variable name (`tot_x`; static function-local variables are `func.name`).
    pub name: String,
    /// BTF type id of the variable's type (not of the `VAR`).
    pub type_id: u32,
    /// Byte offset in the section.
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
}

/// The variables of one global data section, by offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionLayout {
    /// ELF section name (`.bss`, `.data`, `.rodata`, `.data.foo`).
    pub section: String,
    /// Variables sorted by offset.
    pub vars: Vec<GlobalVar>,
}

/// Variables of every `DATASEC` of `btf` that is a section of `object`, with offsets from
/// the ELF symbols when there is one of the variable's name in the section (clang writes 0
/// for global variables in `DATASEC`; libbpf fixes them up the same way), else from BTF.
///
/// `.maps`, `license` and sections absent from the ELF are left out.
///
/// # Errors
///
/// [`ElfError`] when `object` is not a readable BPF ELF object.
pub fn global_layouts(object: &[u8], btf: &Btf) -> Result<Vec<SectionLayout>, ElfError> {
    // ElfSections reads headers in place and needs 8-byte alignment (see `elf::parse`).
    if object.as_ptr().align_offset(8) == 0 {
        return layouts_aligned(object, btf);
    }
    let mut buf = vec![0u8; object.len() + 8];
    let off = buf.as_ptr().align_offset(8).min(8);
    buf[off..off + object.len()].copy_from_slice(object);
    layouts_aligned(&buf[off..off + object.len()], btf)
}

fn layouts_aligned(object: &[u8], btf: &Btf) -> Result<Vec<SectionLayout>, ElfError> {
    let elf = ElfSections::parse(object)?;
    let mut out = Vec::new();
    for t in btf.types() {
        let BtfKind::Datasec { vars, .. } = &t.kind else {
            continue;
        };
        if t.name == ".maps" || t.name == "license" {
            continue;
        }
        let Some(shndx) = elf.find(&t.name) else {
            continue;
        };
        out.push(section_layout(btf, &t.name, vars, |name| {
            elf.symbols
                .iter()
                .find(|s| {
                    usize::from(s.shndx) == shndx && s.sym_type != STT_SECTION && s.name == name
                })
                .and_then(|s| u32::try_from(s.value).ok())
        }));
    }
    Ok(out)
}

/// Variables of the `DATASEC` named `section`, with the offsets recorded in BTF (use
/// [`global_layouts`] for clang objects, whose global variables all have offset 0 there).
pub fn datasec_layout(btf: &Btf, section: &str) -> Option<SectionLayout> {
    let id = btf.find_by_name(section, |k| matches!(k, BtfKind::Datasec { .. }))?;
    let BtfKind::Datasec { vars, .. } = &btf.type_by_id(id)?.kind else {
        return None;
    };
    Some(section_layout(btf, section, vars, |_| None))
}

fn section_layout(
    btf: &Btf,
    section: &str,
    vars: &[super::btf::BtfDatasecVar],
    symbol_offset: impl Fn(&str) -> Option<u32>,
) -> SectionLayout {
    let mut list: Vec<GlobalVar> = vars
        .iter()
        .filter_map(|v| {
            let var = btf.type_by_id(v.ty)?;
            let BtfKind::Var { ty, .. } = var.kind else {
                return None;
            };
            Some(GlobalVar {
                name: var.name.clone(),
                type_id: ty,
                offset: symbol_offset(&var.name).unwrap_or(v.offset),
                size: v.size,
            })
        })
        .collect();
    list.sort_by_key(|v| v.offset);
    SectionLayout {
        section: section.to_string(),
        vars: list,
    }
}

/// Decodes each variable of `layout` from the section contents `data`, in offset order.
pub fn decode_globals(
    btf: &Btf,
    layout: &SectionLayout,
    data: &[u8],
) -> Vec<(String, Result<TypedValue, TypedError>)> {
    layout
        .vars
        .iter()
        .map(|v| {
            let start = v.offset as usize;
            let end = start.saturating_add(v.size as usize);
            let r = match data.get(start..end) {
                Some(bytes) => decode(btf, v.type_id, bytes),
                None => Err(TypedError::Short {
                    ty: type_name(btf, v.type_id),
                    offset: start,
                    need: end,
                    have: data.len(),
                }),
            };
            (v.name.clone(), r)
        })
        .collect()
}

/// Where a type of the iterated map comes from, for [`infer_iter_types`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InferredType {
    /// The BTF type id.
    pub type_id: u32,
    /// The source line it was read from (`__u64 *v = ctx->value;`).
    pub source: String,
}

/// Guesses the key and value types of the iterated map from the program's source lines:
/// a line-info record whose text is a declaration `TYPE *name = ctx->key;` (or `->value`,
/// with an optional cast) names the type, which must be in `btf` and have `key_size` /
/// `value_size` bytes. BTF does not describe local variables, so this is the only trace of
/// the cast; a program that reads the key another way gets `None`.
pub fn infer_iter_types(
    btf: &Btf,
    prog: &super::Program,
    key_size: u32,
    value_size: u32,
) -> (Option<InferredType>, Option<InferredType>) {
    let find = |field: &str, size: u32| {
        prog.line_info.iter().find_map(|l| {
            let name = declared_pointee(&l.source, field)?;
            let id = find_type(btf, &name).ok()?;
            (btf.size_of(id) == Some(size)).then(|| InferredType {
                type_id: id,
                source: l.source.trim().to_string(),
            })
        })
    };
    (find("key", key_size), find("value", value_size))
}

/// The pointee type of a declaration `[const] TYPE *name = [(cast)] ident->FIELD;`.
fn declared_pointee(line: &str, field: &str) -> Option<String> {
    let (lhs, rhs) = line.trim().split_once('=')?;
    let mut rhs = rhs.trim().strip_suffix(';')?.trim();
    if rhs.starts_with('(') {
        rhs = rhs.get(rhs.find(')')? + 1..)?.trim();
    }
    let (base, member) = rhs.split_once("->")?;
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if member.trim() != field || !ident(base.trim()) {
        return None;
    }
    let (ty, var) = lhs.trim().rsplit_once('*')?;
    if !ident(var.trim()) || ty.contains('*') {
        return None;
    }
    let words: Vec<&str> = ty
        .split_whitespace()
        .filter(|w| *w != "const" && *w != "volatile")
        .collect();
    let ok = match words.as_slice() {
        [t] => ident(t),
        [kw, t] => ["struct", "union", "enum"].contains(kw) && ident(t),
        _ => false,
    };
    ok.then(|| words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `.BTF` section from raw type words and a string table (same layout as btf.rs).
    fn fake_btf(types: &[u32], strings: &[u8]) -> Btf {
        let mut out = Vec::new();
        out.extend_from_slice(&0xeb9fu16.to_le_bytes());
        out.extend_from_slice(&[1, 0]);
        let type_len = (types.len() * 4) as u32;
        for w in [24u32, 0, type_len, type_len, strings.len() as u32] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        for w in types {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(strings);
        Btf::parse(&out).unwrap()
    }

    #[test]
    fn extract_bits_and_signs() {
        assert_eq!(extract(&[0xfb, 0xff, 0xff, 0xff], 0, 32, true), -5);
        assert_eq!(
            extract(&[0xfb, 0xff, 0xff, 0xff], 0, 32, false),
            0xffff_fffb
        );
        assert_eq!(extract(&[0b1011_0000], 4, 4, false), 0b1011);
        assert_eq!(extract(&[0b1011_0000], 4, 4, true), -5);
        assert_eq!(extract(&[1, 2], 0, 0, false), 0x0201);
    }

    #[test]
    fn strings_only_when_printable() {
        assert_eq!(printable_string(b"ab\0\0").as_deref(), Some("ab"));
        assert_eq!(printable_string(b"ab\0c"), None);
        assert_eq!(printable_string(&[1, 2, 0]), None);
        assert_eq!(printable_string(b"\0\0").as_deref(), Some(""));
    }

    #[test]
    fn declarations_of_ctx_key_and_value() {
        let d = |l: &str, f: &str| declared_pointee(l, f);
        assert_eq!(
            d("\tstruct triple *k = ctx->key;", "key").as_deref(),
            Some("struct triple")
        );
        assert_eq!(
            d("__u64 *v = ctx->value;", "value").as_deref(),
            Some("__u64")
        );
        assert_eq!(
            d("const __u32 *v = (void *)c->value;", "value").as_deref(),
            Some("__u32")
        );
        assert_eq!(d("__u64 *v = ctx->value;", "key"), None);
        assert_eq!(d("__u64 v = *ctx->value;", "value"), None);
        assert_eq!(d("if (k == ctx->key) {", "key"), None);
        assert_eq!(d("struct a b *k = ctx->key;", "key"), None);
    }

    #[test]
    fn bool_enum_and_pointer() {
        // strings: 1 "_Bool", 7 "e", 9 "A", 11 "B"
        let strings = b"\0_Bool\0e\0A\0B\0";
        let types = [
            1,
            1 << 24,
            1,
            (4 << 24) | 8, // [1] _Bool (BTF_INT_BOOL)
            7,
            (6 << 24) | 2,
            4,
            9,
            0,
            11,
            7, // [2] enum e { A = 0, B = 7 }
            0,
            2 << 24,
            1, // [3] _Bool *
        ];
        let btf = fake_btf(&types, strings);
        assert_eq!(format_value(&btf, 1, &[1]).unwrap(), "true");
        assert_eq!(format_value(&btf, 2, &[7, 0, 0, 0]).unwrap(), "B");
        assert_eq!(format_value(&btf, 2, &[9, 0, 0, 0]).unwrap(), "9");
        assert_eq!(
            format_value(&btf, 3, &0xdead_beefu64.to_le_bytes()).unwrap(),
            "0xdeadbeef"
        );
        assert_eq!(type_name(&btf, 3), "_Bool *");
        assert_eq!(find_type(&btf, "enum e"), Ok(2));
    }

    /// `struct s { int x; struct { unsigned char y; short z[2]; } in; union { long p; }; }`
    /// with an anonymous union member.
    fn nested_btf() -> Btf {
        // strings: 1 "int", 5 "s", 7 "x", 9 "in", 12 "y", 14 "z", 16 "p", 18 "uchar",
        // 24 "short", 30 "long"
        let strings = b"\0int\0s\0x\0in\0y\0z\0p\0uchar\0short\0long\0";
        let types = [
            1,
            1 << 24,
            4,
            (1 << 24) | 32, // [1] int (signed)
            18,
            1 << 24,
            1,
            8, // [2] uchar
            24,
            1 << 24,
            2,
            (1 << 24) | 16, // [3] short (signed)
            0,
            3 << 24,
            0,
            3,
            3,
            2, // [4] short[2] (index type int... any)
            0,
            (4 << 24) | 2,
            6,
            12,
            2,
            0,
            14,
            4,
            16, // [5] anon struct { y; z[2] } size 6
            30,
            1 << 24,
            8,
            (1 << 24) | 64, // [6] long
            0,
            (5 << 24) | 1,
            8,
            16,
            6,
            0, // [7] anon union { p } size 8
            5,
            (4 << 24) | 3,
            24,
            7,
            1,
            0,
            9,
            5,
            32,
            0,
            7,
            128, // [8] struct s size 24
        ];
        fake_btf(&types, strings)
    }

    #[test]
    fn leaves_flatten_nested_types() {
        let btf = nested_btf();
        let got: Vec<(String, u32, u32, bool)> = leaves(&btf, 8)
            .unwrap()
            .into_iter()
            .map(|l| (l.path, l.offset, l.size, l.signed))
            .collect();
        let want = [
            ("x", 0, 4, true),
            ("in.y", 4, 1, false),
            ("in.z[0]", 6, 2, true),
            ("in.z[1]", 8, 2, true),
            ("p", 16, 8, true),
        ];
        let want: Vec<(String, u32, u32, bool)> = want
            .iter()
            .map(|&(p, o, s, g)| (p.to_string(), o, s, g))
            .collect();
        assert_eq!(got, want);
        assert_eq!(leaves(&btf, 1).unwrap()[0].path, "");
        assert_eq!(leaves(&btf, 99), Err(TypedError::NoSuchType { id: 99 }));
    }

    #[test]
    fn leaves_refuse_bitfields() {
        // strings: 1 "int", 5 "s", 7 "a"
        let strings = b"\0int\0s\0a\0";
        let types = [
            1,
            1 << 24,
            4,
            32, // [1] unsigned int
            5,
            (1 << 31) | (4 << 24) | 1,
            4,
            7,
            1,
            3 << 24, // [2] struct s { a:3 } (kind_flag)
        ];
        let btf = fake_btf(&types, strings);
        assert!(matches!(
            leaves(&btf, 2),
            Err(TypedError::Unsupported { .. })
        ));
    }

    #[test]
    fn encode_and_decode_leaves() {
        let leaf = |size, signed| FieldLeaf {
            path: "f".into(),
            offset: 1,
            size,
            signed,
        };
        let mut b = [0xaau8; 6];
        encode_leaf(&leaf(4, true), -2, &mut b).unwrap();
        assert_eq!(b, [0xaa, 0xfe, 0xff, 0xff, 0xff, 0xaa]);
        assert_eq!(decode_leaf(&leaf(4, true), &b), Ok(-2));
        assert_eq!(decode_leaf(&leaf(4, false), &b), Ok(0xffff_fffe));
        encode_leaf(&leaf(2, false), 0xbeef, &mut b).unwrap();
        assert_eq!(b[1..3], [0xef, 0xbe]);
        assert_eq!(
            encode_leaf(&leaf(1, false), 256, &mut b),
            Err(TypedError::OutOfRange {
                path: "f".into(),
                value: 256,
                ty: "u8".into()
            })
        );
        assert!(encode_leaf(&leaf(1, true), -129, &mut b).is_err());
        assert!(encode_leaf(&leaf(1, true), -128, &mut b).is_ok());
        assert!(encode_leaf(&leaf(1, false), -1, &mut b).is_err());
        assert!(matches!(
            encode_leaf(&leaf(8, false), 1, &mut b),
            Err(TypedError::Short { .. })
        ));
        assert!(decode_leaf(&leaf(8, false), &b).is_err());
        let mut w = [0u8; 16];
        let wide = FieldLeaf {
            path: String::new(),
            offset: 0,
            size: 16,
            signed: false,
        };
        encode_leaf(&wide, i128::MAX, &mut w).unwrap();
        assert_eq!(decode_leaf(&wide, &w), Ok(i128::MAX));
    }
}
