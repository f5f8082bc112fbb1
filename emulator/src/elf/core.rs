//! CO-RE (compile once, run everywhere) relocations against the emulator's own model of
//! the kernel types.
//!
//! A real loader matches the program's local BTF against the kernel's `vmlinux` BTF. The
//! emulator has no kernel, so [`KERNEL_TYPES`] is a small hand-written table of the structs
//! an iterator program can reach: the two iterator context structs, `struct bpf_iter_meta`,
//! `struct bpf_map` (the fields programs read, at their Linux 6.18 x86-64 offsets, read from
//! `/sys/kernel/btf/vmlinux`), the opaque `struct seq_file`, and the `struct sock` /
//! `struct sock_common` / `struct in6_addr` fields socket iterators read (family, ports,
//! addresses, state, type, protocol; see [`crate::sock`] for the runtime image). A field the
//! model lacks (`sk->sk_rcvbuf`) is an [`ElfError::CoreMissing`] naming it. The
//! runtime lays out its fake `struct bpf_map` with the `BPF_MAP_OFF_*` constants.
//!
//! Matching follows libbpf's rules: the local root type's name (without a `___flavor`
//! suffix) selects a model struct; the access string (`"0:1:2"`) is walked through the
//! *local* BTF to member names, anonymous struct/union members are transparent, and the model
//! gives the target offsets. The patched instruction field is the one libbpf patches: `off`
//! for loads and stores, `imm` for ALU instructions, both halves of the immediate for
//! `ld_imm64`.
//!
//! Out of scope: bitfield relocations (the model has no bitfields), enum value relocations
//! against kernel enums (none are modelled: `ENUMVAL_EXISTS` gives 0, `ENUMVAL_VALUE` is an
//! error), and libbpf's "poison the instruction" fallback: a relocation the model cannot
//! satisfy is an [`ElfError::CoreMissing`] at parse time instead.

use super::btf::{Btf, BtfKind, CoreReloRecord};
use super::ElfError;
use crate::sock;

/// The kind of a modelled field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// An integer or enum.
    Int {
        /// The integer is signed.
        signed: bool,
    },
    /// A pointer (8 bytes).
    Ptr,
    /// A nested struct or union member (`sock.__sk_common`), walked into by its model
    /// ([`model_struct`], or an internal model for an anonymous union such as
    /// `in6_addr.in6_u`).
    Struct {
        /// The nested model's name.
        model: &'static str,
    },
    /// An array of integers.
    Array {
        /// Size of one element in bytes.
        elem_size: u32,
        /// Number of elements.
        len: u32,
        /// Elements are signed.
        signed: bool,
    },
}

/// A field of a modelled kernel struct.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelField {
    /// Field name as in the kernel.
    pub name: &'static str,
    /// Byte offset from the start of the struct.
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
    /// Kind of the field.
    pub kind: FieldKind,
}

/// A modelled kernel struct.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelStruct {
    /// Struct name as in the kernel (`bpf_map`, not `struct bpf_map`).
    pub name: &'static str,
    /// `sizeof` in bytes.
    pub size: u32,
    /// The modelled fields (a subset of the kernel's; anonymous unions are flattened).
    pub fields: &'static [ModelField],
}

impl ModelStruct {
    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&'static ModelField> {
        self.fields.iter().find(|f| f.name == name)
    }
}

const fn int(name: &'static str, offset: u32, size: u32, signed: bool) -> ModelField {
    ModelField {
        name,
        offset,
        size,
        kind: FieldKind::Int { signed },
    }
}

const fn nested(name: &'static str, offset: u32, size: u32, model: &'static str) -> ModelField {
    ModelField {
        name,
        offset,
        size,
        kind: FieldKind::Struct { model },
    }
}

const fn array(name: &'static str, offset: u32, elem_size: u32, len: u32) -> ModelField {
    ModelField {
        name,
        offset,
        size: elem_size * len,
        kind: FieldKind::Array {
            elem_size,
            len,
            signed: false,
        },
    }
}

const fn ptr(name: &'static str, offset: u32) -> ModelField {
    ModelField {
        name,
        offset,
        size: 8,
        kind: FieldKind::Ptr,
    }
}

/// `offsetof(struct bpf_map, map_type)` (`enum bpf_map_type`, 4 bytes).
pub const BPF_MAP_OFF_MAP_TYPE: usize = 64;
/// `offsetof(struct bpf_map, key_size)` (u32).
pub const BPF_MAP_OFF_KEY_SIZE: usize = 68;
/// `offsetof(struct bpf_map, value_size)` (u32).
pub const BPF_MAP_OFF_VALUE_SIZE: usize = 72;
/// `offsetof(struct bpf_map, max_entries)` (u32).
pub const BPF_MAP_OFF_MAX_ENTRIES: usize = 76;
/// `offsetof(struct bpf_map, map_extra)` (u64).
pub const BPF_MAP_OFF_MAP_EXTRA: usize = 80;
/// `offsetof(struct bpf_map, map_flags)` (u32).
pub const BPF_MAP_OFF_MAP_FLAGS: usize = 88;
/// `offsetof(struct bpf_map, id)` (u32).
pub const BPF_MAP_OFF_ID: usize = 92;
/// `offsetof(struct bpf_map, numa_node)` (int).
pub const BPF_MAP_OFF_NUMA_NODE: usize = 104;
/// `offsetof(struct bpf_map, btf_key_type_id)` (u32).
pub const BPF_MAP_OFF_BTF_KEY_TYPE_ID: usize = 108;
/// `offsetof(struct bpf_map, btf_value_type_id)` (u32).
pub const BPF_MAP_OFF_BTF_VALUE_TYPE_ID: usize = 112;
/// `offsetof(struct bpf_map, btf_vmlinux_value_type_id)` (u32).
pub const BPF_MAP_OFF_BTF_VMLINUX_VALUE_TYPE_ID: usize = 116;
/// `offsetof(struct bpf_map, name)` (`char[BPF_OBJ_NAME_LEN]`, 16 bytes, NUL-terminated).
pub const BPF_MAP_OFF_NAME: usize = 136;
/// Length of `struct bpf_map::name` (`BPF_OBJ_NAME_LEN`).
pub const BPF_OBJ_NAME_LEN: usize = 16;
/// `offsetof(struct bpf_map, bypass_spec_v1)` (bool).
pub const BPF_MAP_OFF_BYPASS_SPEC_V1: usize = 256;
/// `offsetof(struct bpf_map, frozen)` (bool).
pub const BPF_MAP_OFF_FROZEN: usize = 257;
/// `sizeof(struct bpf_map)` on Linux 6.18 x86-64.
pub const BPF_MAP_MODEL_SIZE: usize = 296;

/// `offsetof(struct bpf_iter_meta, seq)` (`struct seq_file *`).
pub const BPF_ITER_META_OFF_SEQ: usize = 0;
/// `offsetof(struct bpf_iter_meta, session_id)`.
pub const BPF_ITER_META_OFF_SESSION_ID: usize = 8;
/// `offsetof(struct bpf_iter_meta, seq_num)`.
pub const BPF_ITER_META_OFF_SEQ_NUM: usize = 16;
/// `sizeof(struct bpf_iter_meta)`.
pub const BPF_ITER_META_SIZE: usize = 24;

/// `offsetof(struct bpf_iter__bpf_map_elem, meta)` (also for `bpf_sk_storage_map`).
pub const BPF_ITER_CTX_OFF_META: usize = 0;
/// `offsetof(struct bpf_iter__bpf_map_elem, map)`.
pub const BPF_ITER_CTX_OFF_MAP: usize = 8;
/// `offsetof(struct bpf_iter__bpf_map_elem, key)` (`sk` for `bpf_sk_storage_map`).
pub const BPF_ITER_CTX_OFF_KEY: usize = 16;
/// `offsetof(struct bpf_iter__bpf_map_elem, value)`.
pub const BPF_ITER_CTX_OFF_VALUE: usize = 24;
/// `sizeof(struct bpf_iter__bpf_map_elem)`.
pub const BPF_ITER_CTX_SIZE: usize = 32;

/// The modelled kernel structs (Linux 6.18, x86-64).
pub static KERNEL_TYPES: &[ModelStruct] = &[
    ModelStruct {
        name: "bpf_iter__bpf_map_elem",
        size: BPF_ITER_CTX_SIZE as u32,
        fields: &[
            ptr("meta", BPF_ITER_CTX_OFF_META as u32),
            ptr("map", BPF_ITER_CTX_OFF_MAP as u32),
            ptr("key", BPF_ITER_CTX_OFF_KEY as u32),
            ptr("value", BPF_ITER_CTX_OFF_VALUE as u32),
        ],
    },
    ModelStruct {
        name: "bpf_iter__bpf_sk_storage_map",
        size: BPF_ITER_CTX_SIZE as u32,
        fields: &[
            ptr("meta", BPF_ITER_CTX_OFF_META as u32),
            ptr("map", BPF_ITER_CTX_OFF_MAP as u32),
            ptr("sk", BPF_ITER_CTX_OFF_KEY as u32),
            ptr("value", BPF_ITER_CTX_OFF_VALUE as u32),
        ],
    },
    ModelStruct {
        name: "bpf_iter_meta",
        size: BPF_ITER_META_SIZE as u32,
        fields: &[
            ptr("seq", BPF_ITER_META_OFF_SEQ as u32),
            int("session_id", BPF_ITER_META_OFF_SESSION_ID as u32, 8, false),
            int("seq_num", BPF_ITER_META_OFF_SEQ_NUM as u32, 8, false),
        ],
    },
    ModelStruct {
        name: "bpf_map",
        size: BPF_MAP_MODEL_SIZE as u32,
        fields: &[
            ptr("ops", 40),
            ptr("inner_map_meta", 48),
            int("map_type", BPF_MAP_OFF_MAP_TYPE as u32, 4, false),
            int("key_size", BPF_MAP_OFF_KEY_SIZE as u32, 4, false),
            int("value_size", BPF_MAP_OFF_VALUE_SIZE as u32, 4, false),
            int("max_entries", BPF_MAP_OFF_MAX_ENTRIES as u32, 4, false),
            int("map_extra", BPF_MAP_OFF_MAP_EXTRA as u32, 8, false),
            int("map_flags", BPF_MAP_OFF_MAP_FLAGS as u32, 4, false),
            int("id", BPF_MAP_OFF_ID as u32, 4, false),
            int("numa_node", BPF_MAP_OFF_NUMA_NODE as u32, 4, true),
            int(
                "btf_key_type_id",
                BPF_MAP_OFF_BTF_KEY_TYPE_ID as u32,
                4,
                false,
            ),
            int(
                "btf_value_type_id",
                BPF_MAP_OFF_BTF_VALUE_TYPE_ID as u32,
                4,
                false,
            ),
            int(
                "btf_vmlinux_value_type_id",
                BPF_MAP_OFF_BTF_VMLINUX_VALUE_TYPE_ID as u32,
                4,
                false,
            ),
            ModelField {
                name: "name",
                offset: BPF_MAP_OFF_NAME as u32,
                size: BPF_OBJ_NAME_LEN as u32,
                kind: FieldKind::Array {
                    elem_size: 1,
                    len: BPF_OBJ_NAME_LEN as u32,
                    signed: true,
                },
            },
            int(
                "bypass_spec_v1",
                BPF_MAP_OFF_BYPASS_SPEC_V1 as u32,
                1,
                false,
            ),
            int("frozen", BPF_MAP_OFF_FROZEN as u32, 1, false),
        ],
    },
    // Opaque: programs only pass it to the seq helpers.
    ModelStruct {
        name: "seq_file",
        size: 0,
        fields: &[],
    },
    // `ctx->sk` of `bpf_sk_storage_map` iterators (Linux 6.18 x86-64 offsets, from BTF).
    ModelStruct {
        name: "sock",
        size: sock::SOCK_SIZE as u32,
        fields: &[
            nested(
                "__sk_common",
                0,
                sock::SOCK_COMMON_SIZE as u32,
                "sock_common",
            ),
            int("sk_priority", sock::SOCK_OFF_SK_PRIORITY as u32, 4, false),
            int("sk_mark", sock::SOCK_OFF_SK_MARK as u32, 4, false),
            int("sk_protocol", sock::SOCK_OFF_SK_PROTOCOL as u32, 2, false),
            int("sk_type", sock::SOCK_OFF_SK_TYPE as u32, 2, false),
            int(
                "sk_ack_backlog",
                sock::SOCK_OFF_SK_ACK_BACKLOG as u32,
                4,
                false,
            ),
            int(
                "sk_max_ack_backlog",
                sock::SOCK_OFF_SK_MAX_ACK_BACKLOG as u32,
                4,
                false,
            ),
        ],
    },
    ModelStruct {
        name: "sock_common",
        size: sock::SOCK_COMMON_SIZE as u32,
        fields: &[
            int("skc_addrpair", sock::SOCK_OFF_SKC_DADDR as u32, 8, false),
            int("skc_daddr", sock::SOCK_OFF_SKC_DADDR as u32, 4, false),
            int(
                "skc_rcv_saddr",
                sock::SOCK_OFF_SKC_RCV_SADDR as u32,
                4,
                false,
            ),
            int("skc_hash", sock::SOCK_OFF_SKC_HASH as u32, 4, false),
            int("skc_portpair", sock::SOCK_OFF_SKC_DPORT as u32, 4, false),
            int("skc_dport", sock::SOCK_OFF_SKC_DPORT as u32, 2, false),
            int("skc_num", sock::SOCK_OFF_SKC_NUM as u32, 2, false),
            int("skc_family", sock::SOCK_OFF_SKC_FAMILY as u32, 2, false),
            int("skc_state", sock::SOCK_OFF_SKC_STATE as u32, 1, false),
            int(
                "skc_bound_dev_if",
                sock::SOCK_OFF_SKC_BOUND_DEV_IF as u32,
                4,
                true,
            ),
            nested(
                "skc_v6_daddr",
                sock::SOCK_OFF_SKC_V6_DADDR as u32,
                16,
                "in6_addr",
            ),
            nested(
                "skc_v6_rcv_saddr",
                sock::SOCK_OFF_SKC_V6_RCV_SADDR as u32,
                16,
                "in6_addr",
            ),
        ],
    },
    ModelStruct {
        name: "in6_addr",
        size: 16,
        fields: &[nested("in6_u", 0, 16, "in6_addr::in6_u")],
    },
];

/// Models of anonymous unions reached through a named member (not kernel type names, so
/// not in [`KERNEL_TYPES`]).
static NESTED_TYPES: &[ModelStruct] = &[ModelStruct {
    name: "in6_addr::in6_u",
    size: 16,
    fields: &[
        array("u6_addr8", 0, 1, 16),
        array("u6_addr16", 0, 2, 8),
        array("u6_addr32", 0, 4, 4),
    ],
}];

/// A model by name, internal nested ones included.
fn nested_model(name: &str) -> Option<&'static ModelStruct> {
    KERNEL_TYPES
        .iter()
        .chain(NESTED_TYPES)
        .find(|s| s.name == name)
}

/// The modelled struct called `name`, with its 1-based index (the emulator's "target type id").
pub fn model_struct(name: &str) -> Option<(u32, &'static ModelStruct)> {
    KERNEL_TYPES
        .iter()
        .enumerate()
        .find(|(_, s)| s.name == name)
        .map(|(i, s)| (i as u32 + 1, s))
}

/// `enum bpf_core_relo_kind` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum CoreReloKind {
    /// `BPF_CORE_FIELD_BYTE_OFFSET`.
    FieldByteOffset = 0,
    /// `BPF_CORE_FIELD_BYTE_SIZE`.
    FieldByteSize = 1,
    /// `BPF_CORE_FIELD_EXISTS`.
    FieldExists = 2,
    /// `BPF_CORE_FIELD_SIGNED`.
    FieldSigned = 3,
    /// `BPF_CORE_FIELD_LSHIFT_U64`.
    FieldLshiftU64 = 4,
    /// `BPF_CORE_FIELD_RSHIFT_U64`.
    FieldRshiftU64 = 5,
    /// `BPF_CORE_TYPE_ID_LOCAL`.
    TypeIdLocal = 6,
    /// `BPF_CORE_TYPE_ID_TARGET`.
    TypeIdTarget = 7,
    /// `BPF_CORE_TYPE_EXISTS`.
    TypeExists = 8,
    /// `BPF_CORE_TYPE_SIZE`.
    TypeSize = 9,
    /// `BPF_CORE_ENUMVAL_EXISTS`.
    EnumvalExists = 10,
    /// `BPF_CORE_ENUMVAL_VALUE`.
    EnumvalValue = 11,
    /// `BPF_CORE_TYPE_MATCHES`.
    TypeMatches = 12,
}

impl CoreReloKind {
    /// Decodes a raw kind.
    pub fn from_raw(raw: u32) -> Option<Self> {
        use CoreReloKind::*;
        Some(match raw {
            0 => FieldByteOffset,
            1 => FieldByteSize,
            2 => FieldExists,
            3 => FieldSigned,
            4 => FieldLshiftU64,
            5 => FieldRshiftU64,
            6 => TypeIdLocal,
            7 => TypeIdTarget,
            8 => TypeExists,
            9 => TypeSize,
            10 => EnumvalExists,
            11 => EnumvalValue,
            12 => TypeMatches,
            _ => return None,
        })
    }

    fn is_field(self) -> bool {
        (self as u32) <= 5
    }
}

/// Context for errors: where the relocation is.
struct Site<'a> {
    section: &'a str,
    insn: usize,
}

impl Site<'_> {
    #[cold]
    fn bad(&self, reason: &'static str) -> ElfError {
        ElfError::CoreRelo {
            section: self.section.to_owned(),
            insn: self.insn,
            reason,
        }
    }

    #[cold]
    fn missing(&self, type_name: &str, field: &str) -> ElfError {
        ElfError::CoreMissing {
            section: self.section.to_owned(),
            insn: self.insn,
            type_name: type_name.to_owned(),
            field: field.to_owned(),
        }
    }
}

/// Where a field access string leads in the model.
struct FieldTarget {
    offset: u32,
    size: u32,
    signed: bool,
    /// Size of the local field, to detect load-size mismatches.
    local_size: Option<u32>,
}

/// Strips a libbpf "flavor" suffix (`bpf_map___old` -> `bpf_map`).
fn essential_name(name: &str) -> &str {
    name.find("___").map_or(name, |i| &name[..i])
}

/// Applies every CO-RE record of one code section to its instructions.
///
/// # Errors
///
/// [`ElfError::CoreRelo`] for malformed records or unpatchable instructions,
/// [`ElfError::CoreMissing`] when the model lacks the type or field.
pub fn apply_section(
    btf: &Btf,
    section: &str,
    insns: &mut [u8],
    records: &[CoreReloRecord],
) -> Result<(), ElfError> {
    for rec in records {
        let site = Site {
            section,
            insn: rec.insn_off as usize / 8,
        };
        if rec.insn_off % 8 != 0 || rec.insn_off as usize + 8 > insns.len() {
            return Err(site.bad("instruction offset outside the section"));
        }
        let kind =
            CoreReloKind::from_raw(rec.kind).ok_or_else(|| site.bad("unknown relocation kind"))?;
        let (value, local_size) = compute(btf, rec, kind, &site)?;
        patch(insns, site.insn, value, kind, local_size, &site)?;
    }
    Ok(())
}

/// Computes the relocated value and, for field offsets, the (local, target) field sizes.
fn compute(
    btf: &Btf,
    rec: &CoreReloRecord,
    kind: CoreReloKind,
    site: &Site<'_>,
) -> Result<(u64, Option<(u32, u32)>), ElfError> {
    let root = btf
        .skip_mods_and_typedefs(rec.type_id)
        .ok_or_else(|| site.bad("root type id out of range"))?;
    let root_ty = btf
        .type_by_id(root)
        .ok_or_else(|| site.bad("root type id out of range"))?;
    let name = essential_name(&root_ty.name);
    let model = model_struct(name);
    match kind {
        CoreReloKind::TypeIdLocal => return Ok((u64::from(rec.type_id), None)),
        CoreReloKind::TypeIdTarget => {
            let (id, _) = model.ok_or_else(|| site.missing(name, ""))?;
            return Ok((u64::from(id), None));
        }
        CoreReloKind::TypeExists | CoreReloKind::TypeMatches => {
            return Ok((u64::from(model.is_some()), None));
        }
        CoreReloKind::TypeSize => {
            let (_, s) = model.ok_or_else(|| site.missing(name, ""))?;
            return Ok((u64::from(s.size), None));
        }
        CoreReloKind::EnumvalExists => return Ok((0, None)),
        CoreReloKind::EnumvalValue => return Err(site.missing(name, &rec.access)),
        _ => {}
    }
    debug_assert!(kind.is_field());
    if !matches!(root_ty.kind, BtfKind::Struct { .. } | BtfKind::Union { .. }) {
        return Err(site.bad("field relocation on a type that is not a struct or union"));
    }
    let found = match model {
        Some((_, s)) => walk(btf, root, s, &rec.access, site),
        None => Err(site.missing(name, &rec.access)),
    };
    let target = match (found, kind) {
        (Ok(t), _) => t,
        (Err(ElfError::CoreMissing { .. }), CoreReloKind::FieldExists) => return Ok((0, None)),
        (Err(e), _) => return Err(e),
    };
    let bits = u64::from(target.size) * 8;
    let value = match kind {
        CoreReloKind::FieldByteOffset => u64::from(target.offset),
        CoreReloKind::FieldByteSize => u64::from(target.size),
        CoreReloKind::FieldExists => 1,
        CoreReloKind::FieldSigned => u64::from(target.signed),
        // Little-endian, non-bitfield: the field fills the low `bits` of the loaded value.
        CoreReloKind::FieldLshiftU64 | CoreReloKind::FieldRshiftU64 => 64u64.saturating_sub(bits),
        _ => return Err(site.bad("unsupported relocation kind")),
    };
    let sizes = target.local_size.map(|l| (l, target.size));
    Ok((value, sizes))
}

/// Walks the access string through the local BTF and the model at the same time.
fn walk(
    btf: &Btf,
    root: u32,
    model: &'static ModelStruct,
    access: &str,
    site: &Site<'_>,
) -> Result<FieldTarget, ElfError> {
    let mut parts = access.split(':').map(str::parse::<u32>);
    let first = parts
        .next()
        .and_then(Result::ok)
        .ok_or_else(|| site.bad("malformed access string"))?;
    let mut offset = first
        .checked_mul(model.size)
        .ok_or_else(|| site.bad("access index overflows"))?;
    let mut local = root;
    // The struct whose members the next named member is looked up in.
    let mut cur = model;
    // The modelled field reached so far (None while still at the root struct).
    let mut field: Option<&'static ModelField> = None;
    let mut path = String::new();
    let mut in_array_elem = false;
    for part in parts {
        let idx = part.map_err(|_| site.bad("malformed access string"))?;
        let local_id = btf
            .skip_mods_and_typedefs(local)
            .ok_or_else(|| site.bad("dangling type id in local BTF"))?;
        let ty = btf
            .type_by_id(local_id)
            .ok_or_else(|| site.bad("dangling type id in local BTF"))?;
        match &ty.kind {
            BtfKind::Struct { members, .. } | BtfKind::Union { members, .. } => {
                let m = members
                    .get(idx as usize)
                    .ok_or_else(|| site.bad("member index out of range"))?;
                if m.bitfield_size != 0 {
                    return Err(site.bad("bitfield relocations are not supported"));
                }
                local = m.ty;
                if m.name.is_empty() {
                    // Anonymous struct/union: transparent in the flattened model.
                    continue;
                }
                let full = if path.is_empty() {
                    m.name.clone()
                } else {
                    format!("{path}.{}", m.name)
                };
                if let Some(f) = field {
                    // Into a nested struct member: its model has the next field.
                    let FieldKind::Struct { model: inner } = f.kind else {
                        return Err(site.missing(model.name, &full));
                    };
                    cur = nested_model(inner).ok_or_else(|| site.missing(model.name, &full))?;
                }
                let f = cur
                    .field(&m.name)
                    .ok_or_else(|| site.missing(model.name, &full))?;
                path = full;
                offset = offset
                    .checked_add(f.offset)
                    .ok_or_else(|| site.bad("offset overflows"))?;
                field = Some(f);
            }
            BtfKind::Array { elem, len, .. } => {
                let Some(FieldKind::Array {
                    elem_size,
                    len: tlen,
                    ..
                }) = field.map(|f| f.kind)
                else {
                    return Err(site.missing(model.name, &path));
                };
                if in_array_elem || idx >= tlen || idx >= (*len).max(1) {
                    return Err(site.missing(model.name, &format!("{path}[{idx}]")));
                }
                offset = offset
                    .checked_add(idx.saturating_mul(elem_size))
                    .ok_or_else(|| site.bad("offset overflows"))?;
                local = *elem;
                in_array_elem = true;
            }
            _ => return Err(site.bad("access string walks into a non-composite type")),
        }
    }
    let local_size = btf.size_of(local);
    let (size, signed) = match field {
        None => (model.size, false),
        Some(f) => match f.kind {
            FieldKind::Int { signed } => (f.size, signed),
            FieldKind::Ptr => (8, false),
            FieldKind::Array {
                elem_size, signed, ..
            } if in_array_elem => (elem_size, signed),
            FieldKind::Array { .. } | FieldKind::Struct { .. } => (f.size, false),
        },
    };
    Ok(FieldTarget {
        offset,
        size,
        signed,
        local_size,
    })
}

/// BPF instruction classes.
const BPF_LD: u8 = 0x00;
const BPF_LDX: u8 = 0x01;
const BPF_ST: u8 = 0x02;
const BPF_STX: u8 = 0x03;
const BPF_ALU: u8 = 0x04;
const BPF_ALU64: u8 = 0x07;
/// `BPF_X` source bit.
const BPF_X: u8 = 0x08;
/// `BPF_LD | BPF_IMM | BPF_DW`.
const LD_IMM64: u8 = 0x18;
/// `BPF_MEM` mode.
const BPF_MEM: u8 = 0x60;

/// Patches the instruction at `idx` with `value` the way libbpf does.
fn patch(
    insns: &mut [u8],
    idx: usize,
    value: u64,
    kind: CoreReloKind,
    sizes: Option<(u32, u32)>,
    site: &Site<'_>,
) -> Result<(), ElfError> {
    let at = idx * 8;
    let opcode = insns[at];
    match opcode & 0x07 {
        BPF_ALU | BPF_ALU64 => {
            if opcode & BPF_X != 0 {
                return Err(site.bad("ALU instruction with a register source cannot be relocated"));
            }
            let imm = i32::try_from(value).map_err(|_| site.bad("value does not fit in imm"))?;
            insns[at + 4..at + 8].copy_from_slice(&imm.to_le_bytes());
        }
        BPF_LDX | BPF_ST | BPF_STX => {
            if kind != CoreReloKind::FieldByteOffset {
                return Err(site.bad("memory instruction relocated by a non-offset relocation"));
            }
            let off = i16::try_from(value).map_err(|_| site.bad("offset does not fit in off"))?;
            insns[at + 2..at + 4].copy_from_slice(&off.to_le_bytes());
            // A load of a field whose size differs in the target gets the target size, as
            // libbpf does for direct memory loads.
            if let Some((local, target)) = sizes {
                if opcode & 0x07 == BPF_LDX && opcode & 0xe0 == BPF_MEM && local != target {
                    let current = match opcode & 0x18 {
                        0x10 => 1,
                        0x08 => 2,
                        0x00 => 4,
                        _ => 8,
                    };
                    if current != local {
                        // A partial load of a field whose size changed: libbpf refuses too.
                        return Err(site.bad("load size differs from the field size"));
                    }
                    let code = match target {
                        1 => 0x10,
                        2 => 0x08,
                        4 => 0x00,
                        8 => 0x18,
                        _ => return Err(site.bad("field size cannot be loaded directly")),
                    };
                    insns[at] = (opcode & !0x18) | code;
                }
            }
        }
        BPF_LD if opcode == LD_IMM64 => {
            if at + 16 > insns.len() {
                return Err(site.bad("ld_imm64 is missing its second slot"));
            }
            insns[at + 4..at + 8].copy_from_slice(&(value as u32).to_le_bytes());
            insns[at + 12..at + 16].copy_from_slice(&((value >> 32) as u32).to_le_bytes());
        }
        _ => return Err(site.bad("instruction cannot be relocated")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_offsets_match_the_spec() {
        let (_, ctx) = model_struct("bpf_iter__bpf_map_elem").unwrap();
        assert_eq!(ctx.field("key").unwrap().offset, 16);
        assert_eq!(ctx.field("value").unwrap().offset, 24);
        let (_, meta) = model_struct("bpf_iter_meta").unwrap();
        assert_eq!(meta.field("seq_num").unwrap().offset, 16);
        let (_, map) = model_struct("bpf_map").unwrap();
        assert_eq!(map.field("name").unwrap().offset as usize, BPF_MAP_OFF_NAME);
        assert_eq!(map.field("id").unwrap().offset as usize, BPF_MAP_OFF_ID);
        for f in map.fields {
            assert!(
                (f.offset + f.size) as usize <= BPF_MAP_MODEL_SIZE,
                "{}",
                f.name
            );
        }
    }

    #[test]
    fn flavor_suffix_is_ignored() {
        assert_eq!(essential_name("bpf_map___v1"), "bpf_map");
        assert_eq!(essential_name("bpf_map"), "bpf_map");
    }

    #[test]
    fn patch_ldx_off_and_alu_imm() {
        let site = Site {
            section: "s",
            insn: 0,
        };
        // r1 = *(u64 *)(r2 + 0)
        let mut insns = [0x79, 0x21, 0, 0, 0, 0, 0, 0];
        patch(
            &mut insns,
            0,
            24,
            CoreReloKind::FieldByteOffset,
            Some((8, 8)),
            &site,
        )
        .unwrap();
        assert_eq!(i16::from_le_bytes([insns[2], insns[3]]), 24);
        // r1 += 0
        let mut insns = [0x07, 0x01, 0, 0, 0, 0, 0, 0];
        patch(
            &mut insns,
            0,
            136,
            CoreReloKind::FieldByteOffset,
            None,
            &site,
        )
        .unwrap();
        assert_eq!(
            i32::from_le_bytes([insns[4], insns[5], insns[6], insns[7]]),
            136
        );
        // r1 = *(u64 *)(r2 + 0) of a local u64 that is a u32 in the kernel: becomes a u32 load
        let mut insns = [0x79, 0x21, 0, 0, 0, 0, 0, 0];
        patch(
            &mut insns,
            0,
            92,
            CoreReloKind::FieldByteOffset,
            Some((8, 4)),
            &site,
        )
        .unwrap();
        assert_eq!(
            (insns[0], i16::from_le_bytes([insns[2], insns[3]])),
            (0x61, 92)
        );
        // a partial (u8) load of that field cannot be resized
        let mut insns = [0x71, 0x21, 0, 0, 0, 0, 0, 0];
        assert!(patch(
            &mut insns,
            0,
            92,
            CoreReloKind::FieldByteOffset,
            Some((8, 4)),
            &site
        )
        .is_err());
        // r1 += r2 cannot be relocated
        let mut insns = [0x0f, 0x21, 0, 0, 0, 0, 0, 0];
        assert!(patch(&mut insns, 0, 1, CoreReloKind::FieldByteOffset, None, &site).is_err());
    }
}
