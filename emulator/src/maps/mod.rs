//! BPF maps as the kernel's map-element iterators see them: hash, array, their per-CPU
//! variants and the two LRU hashes.
//!
//! A [`Map`] is created from a [`MapDef`] with the kernel's `BPF_MAP_CREATE` checks (same
//! errnos), preallocates all key and value storage in [`Region`]s (so guest addresses never
//! change), and offers the operations an iterator program and the syscall side need:
//! updates and deletes with the kernel's errnos, lookups from programs (which set the LRU
//! reference bit) and from the syscall (which do not), the seq_file iterator protocol
//! ([`Map::iter_start`] / [`Map::iter_next`] with a kernel-style [`IterCursor`]), and a dump in
//! `BPF_MAP_GET_NEXT_KEY` order.
//!
//! Kernel behaviour reproduced (see `spec/bpf-iter-semantics.md` §4, §5 and
//! `spec/lru-eviction.md`): bucket order from the kernel's jhash with the map's seed, head
//! insertion (an update of an existing HASH / LRU_HASH key moves it to the front of its bucket,
//! per-CPU updates are in place), the hash iterator's `(bucket_id, skip_elems)` cursor and its
//! "follow the previous element's next pointer" rule (deleting the current element does not
//! disturb a walk), and the LRU eviction algorithm exactly (`lru` module).
//!
//! `BPF_MAP_TYPE_SK_STORAGE` (socket local storage, `sk_storage` module) is keyed by a socket fd
//! from user space and iterated by `iter/bpf_sk_storage_map` programs; it is created over
//! the scenario's socket table ([`Map::create_with_sockets`]).
//!
//! Out of scope: BTF-managed fields (spin locks, timers, kptrs), `BPF_F_LOCK`, NUMA placement,
//! map-in-map and every map type not listed in [`MapKind`]. Access rights such as
//! `BPF_F_RDONLY_PROG` are recorded in the definition but enforced by the verifier, not here.

mod array;
mod hash;
mod jhash;
mod lru;
mod sk_storage;

use std::fmt;
use std::str::FromStr;

use crate::errno::Errno;
use crate::mem::Region;

pub use jhash::{jhash, jhash2};

/// `BPF_F_NO_PREALLOC`: hash elements are allocated on update (the emulator still
/// preallocates; only the creation rules differ).
pub const BPF_F_NO_PREALLOC: u32 = 1;
/// `BPF_F_NO_COMMON_LRU`: one LRU list per CPU instead of a common one (LRU maps only).
pub const BPF_F_NO_COMMON_LRU: u32 = 2;
/// `BPF_F_ZERO_SEED`: hash with seed 0, making the bucket order deterministic.
pub const BPF_F_ZERO_SEED: u32 = 0x40;
/// `BPF_F_RDONLY_PROG`: programs may only read the map (enforced by the verifier).
pub const BPF_F_RDONLY_PROG: u32 = 0x80;
/// `BPF_F_MMAPABLE`: the array may be mmap()ed (plain arrays only).
pub const BPF_F_MMAPABLE: u32 = 0x400;

/// `BPF_ANY`: create or update.
pub const BPF_ANY: u64 = 0;
/// `BPF_NOEXIST`: create only (`EEXIST` if the key is present).
pub const BPF_NOEXIST: u64 = 1;
/// `BPF_EXIST`: update only (`ENOENT` if the key is missing).
pub const BPF_EXIST: u64 = 2;

/// `BPF_F_RDONLY` (syscall side read-only).
const BPF_F_RDONLY: u32 = 0x8;
/// `BPF_F_WRONLY` (syscall side write-only).
const BPF_F_WRONLY: u32 = 0x10;
/// `BPF_F_WRONLY_PROG` (programs may only write).
const BPF_F_WRONLY_PROG: u32 = 0x100;
/// The kernel's `BPF_F_ACCESS_MASK`.
const BPF_F_ACCESS_MASK: u32 = BPF_F_RDONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY | BPF_F_WRONLY_PROG;
/// Flags a hash map accepts (the kernel's `HTAB_CREATE_FLAG_MASK` without `BPF_F_NUMA_NODE`,
/// which needs a NUMA node the emulator does not model).
const HTAB_FLAGS: u32 =
    BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_ACCESS_MASK | BPF_F_ZERO_SEED;
/// Flags an array accepts (the kernel's `ARRAY_CREATE_FLAG_MASK` without NUMA, inner-map and
/// preserve-elems flags).
const ARRAY_FLAGS: u32 = BPF_F_MMAPABLE | BPF_F_ACCESS_MASK;
/// `KMALLOC_MAX_SIZE` on x86_64 (4 MiB) minus `sizeof(struct htab_elem)` (48): a hash map's
/// `key_size + value_size` must stay below it.
const HTAB_KV_LIMIT: u64 = (4 << 20) - 48;
/// `sizeof(struct bucket)` on x86_64: the kernel refuses more than `U32_MAX / 16` buckets.
const HTAB_BUCKET_SIZE: u64 = 16;
/// `PCPU_MIN_UNIT_SIZE`: the largest rounded per-CPU value.
const PCPU_MIN_UNIT_SIZE: u64 = 32 << 10;

/// The map types the emulator supports, with the kernel's `BPF_MAP_TYPE_*` ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MapKind {
    /// `BPF_MAP_TYPE_HASH` (1).
    Hash,
    /// `BPF_MAP_TYPE_ARRAY` (2).
    Array,
    /// `BPF_MAP_TYPE_PERCPU_HASH` (5).
    PercpuHash,
    /// `BPF_MAP_TYPE_PERCPU_ARRAY` (6).
    PercpuArray,
    /// `BPF_MAP_TYPE_LRU_HASH` (9).
    LruHash,
    /// `BPF_MAP_TYPE_LRU_PERCPU_HASH` (10).
    LruPercpuHash,
    /// `BPF_MAP_TYPE_SK_STORAGE` (24): socket local storage.
    SkStorage,
}

impl MapKind {
    /// Every kind, in kernel id order.
    const ALL: [MapKind; 7] = [
        MapKind::Hash,
        MapKind::Array,
        MapKind::PercpuHash,
        MapKind::PercpuArray,
        MapKind::LruHash,
        MapKind::LruPercpuHash,
        MapKind::SkStorage,
    ];

    /// The kernel's `BPF_MAP_TYPE_*` number.
    pub fn bpf_map_type(self) -> u32 {
        match self {
            MapKind::Hash => 1,
            MapKind::Array => 2,
            MapKind::PercpuHash => 5,
            MapKind::PercpuArray => 6,
            MapKind::LruHash => 9,
            MapKind::LruPercpuHash => 10,
            MapKind::SkStorage => 24,
        }
    }

    /// The kernel's enum spelling (`BPF_MAP_TYPE_HASH`).
    pub fn kernel_name(self) -> &'static str {
        match self {
            MapKind::Hash => "BPF_MAP_TYPE_HASH",
            MapKind::Array => "BPF_MAP_TYPE_ARRAY",
            MapKind::PercpuHash => "BPF_MAP_TYPE_PERCPU_HASH",
            MapKind::PercpuArray => "BPF_MAP_TYPE_PERCPU_ARRAY",
            MapKind::LruHash => "BPF_MAP_TYPE_LRU_HASH",
            MapKind::LruPercpuHash => "BPF_MAP_TYPE_LRU_PERCPU_HASH",
            MapKind::SkStorage => "BPF_MAP_TYPE_SK_STORAGE",
        }
    }

    /// The oracle's short name (`lru_percpu_hash`), as parsed by [`FromStr`].
    pub fn name(self) -> &'static str {
        match self {
            MapKind::Hash => "hash",
            MapKind::Array => "array",
            MapKind::PercpuHash => "percpu_hash",
            MapKind::PercpuArray => "percpu_array",
            MapKind::LruHash => "lru_hash",
            MapKind::LruPercpuHash => "lru_percpu_hash",
            MapKind::SkStorage => "sk_storage",
        }
    }

    /// Whether each CPU has its own copy of every value.
    pub fn is_percpu(self) -> bool {
        matches!(
            self,
            MapKind::PercpuHash | MapKind::PercpuArray | MapKind::LruPercpuHash
        )
    }

    /// Whether the map evicts with the kernel's LRU lists.
    pub fn is_lru(self) -> bool {
        matches!(self, MapKind::LruHash | MapKind::LruPercpuHash)
    }

    /// Whether the map is socket local storage (`BPF_MAP_TYPE_SK_STORAGE`).
    pub fn is_sk_storage(self) -> bool {
        matches!(self, MapKind::SkStorage)
    }

    /// Whether the map is an array (u32 index keys, every index always present).
    pub fn is_array(self) -> bool {
        matches!(self, MapKind::Array | MapKind::PercpuArray)
    }
}

impl fmt::Display for MapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A map type name that is not one of the supported kinds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown map type '{name}' (expected hash, array, percpu_hash, percpu_array, lru_hash, lru_percpu_hash or sk_storage)")]
pub struct UnknownMapKind {
    /// The name that was given.
    pub name: String,
}

impl FromStr for MapKind {
    type Err = UnknownMapKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MapKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownMapKind { name: s.to_owned() })
    }
}

/// What `BPF_MAP_CREATE` is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapDef {
    /// Map type.
    pub kind: MapKind,
    /// Key size in bytes (4 for arrays).
    pub key_size: u32,
    /// Value size in bytes (per CPU for per-CPU maps).
    pub value_size: u32,
    /// Capacity (hash maps) or number of indices (arrays).
    pub max_entries: u32,
    /// `map_flags` (`BPF_F_*`).
    pub flags: u32,
    /// Map name (`ctx->map->name`).
    pub name: String,
}

impl MapDef {
    /// The `BPF_MAP_CREATE` checks that need no allocation: the ones [`Map::create`] makes
    /// before allocating (sizes, flags, the hash bucket-count limits), with the same errors.
    /// Editors call it to validate a map as it is typed; it does not apply the
    /// `BPF_F_NO_COMMON_LRU` rounding of `max_entries` nor the emulator's memory limit.
    ///
    /// # Errors
    ///
    /// The [`MapError`] that [`Map::create`] would return for this definition.
    pub fn check(&self, ncpus: u32) -> Result<(), MapError> {
        check_def(self, ncpus)?;
        if !self.kind.is_array() && !self.kind.is_sk_storage() {
            check_hash_entries(self)?;
        }
        Ok(())
    }
}

/// Emulator resource limits for map creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapLimits {
    /// Largest total storage (guest regions plus bookkeeping) one map may use.
    pub max_bytes: usize,
}

impl Default for MapLimits {
    /// 1 GiB.
    fn default() -> Self {
        MapLimits { max_bytes: 1 << 30 }
    }
}

/// Why a map could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// A size or count that must be non-zero is zero (`EINVAL`).
    #[error("map '{name}': {field} must not be 0")]
    Zero {
        /// Map name.
        name: String,
        /// `key_size`, `value_size` or `max_entries`.
        field: &'static str,
    },
    /// An array's key size is not 4 (`EINVAL`).
    #[error("map '{name}': key_size must be 4 for an array, got {key_size}")]
    ArrayKeySize {
        /// Map name.
        name: String,
        /// The key size given.
        key_size: u32,
    },
    /// Flags the map type does not accept, or a forbidden combination (`EINVAL`).
    #[error("map '{name}': flags {flags:#x} are not valid for {kind}: {reason}")]
    Flags {
        /// Map name.
        name: String,
        /// The flags given.
        flags: u32,
        /// The map type.
        kind: MapKind,
        /// What is wrong.
        reason: &'static str,
    },
    /// An LRU map with `BPF_F_NO_PREALLOC` (`ENOTSUPP`).
    #[error("map '{name}': {kind} is always preallocated, BPF_F_NO_PREALLOC is not supported")]
    LruNoPrealloc {
        /// Map name.
        name: String,
        /// The map type.
        kind: MapKind,
    },
    /// A field exceeds the kernel's limit (`E2BIG`).
    #[error("map '{name}': {field} {value} is too big (limit {limit})")]
    TooBig {
        /// Map name.
        name: String,
        /// The field (`max_entries`, `value_size`, `key_size + value_size`).
        field: &'static str,
        /// The value given.
        value: u64,
        /// The largest accepted value.
        limit: u64,
    },
    /// The emulator would need more memory than [`MapLimits::max_bytes`] (emulator only;
    /// reported as `ENOMEM`, what a failed kernel allocation gives).
    #[error(
        "map '{name}' needs {bytes} bytes of storage, more than the emulator limit of {limit}"
    )]
    TooLarge {
        /// Map name.
        name: String,
        /// Bytes the map would need.
        bytes: u64,
        /// The limit.
        limit: usize,
    },
    /// An sk_storage map whose attributes `bpf_local_storage_map_alloc_check` refuses
    /// (`EINVAL`): flags other than `BPF_F_NO_PREALLOC` (and `BPF_F_CLONE`), no
    /// `BPF_F_NO_PREALLOC`, `max_entries` not 0, `key_size` not 4, `value_size` 0, or no
    /// key/value BTF.
    #[error("map '{name}': sk_storage {reason}")]
    SkStorage {
        /// Map name.
        name: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The emulated CPU count is 0 (emulator only, `EINVAL`).
    #[error("map '{name}': the emulator needs at least one CPU, got {ncpus}")]
    NoCpus {
        /// Map name.
        name: String,
        /// The CPU count given.
        ncpus: u32,
    },
}

impl MapError {
    /// The errno `BPF_MAP_CREATE` returns for this failure.
    pub fn errno(&self) -> Errno {
        match self {
            MapError::Zero { .. }
            | MapError::ArrayKeySize { .. }
            | MapError::Flags { .. }
            | MapError::SkStorage { .. }
            | MapError::NoCpus { .. } => Errno::EINVAL,
            MapError::LruNoPrealloc { .. } => Errno::ENOTSUPP,
            MapError::TooBig { .. } => Errno::E2BIG,
            MapError::TooLarge { .. } => Errno::ENOMEM,
        }
    }
}

/// A value given to `BPF_MAP_UPDATE_ELEM` from user space.
#[derive(Debug, Clone, Copy)]
pub enum UpdateValue<'a> {
    /// `value_size` bytes; per-CPU maps replicate it to every CPU (as bpftool does).
    Same(&'a [u8]),
    /// One value per CPU (missing CPUs get zeros). Each is `value_size` bytes or the whole
    /// `round_up(value_size, 8)` slot (padding included, as the kernel copies it).
    PerCpu(&'a [Vec<u8>]),
}

/// A value as the syscall side reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DumpValue {
    /// The value of a non-per-CPU map.
    Single(Vec<u8>),
    /// `value_size` bytes per CPU, in CPU order.
    PerCpu(Vec<Vec<u8>>),
}

/// The kernel's seq iterator state: an array index, or a hash map's
/// `(bucket_id, skip_elems)` plus the element last returned (the kernel's `prev_elem`).
/// `Default` is the state of a fresh iterator session.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IterCursor {
    /// Array index (`info->index`).
    index: u32,
    /// Hash bucket (`info->bucket_id`).
    bucket: u32,
    /// Elements to skip in that bucket (`info->skip_elems`).
    skip: u32,
    /// Slot of the element last returned by start/next.
    cur: Option<u32>,
}

impl IterCursor {
    /// The array index, or the hash bucket, the cursor is at (for progress display).
    pub fn position(&self) -> u32 {
        self.index.max(self.bucket)
    }
}

/// One element handed to an iterator program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IterElem {
    /// Guest address of the key (`ctx->key`).
    pub key_addr: u64,
    /// Guest address of the value (`ctx->value`).
    pub value_addr: u64,
}

/// An emulated BPF map.
#[derive(Debug)]
pub struct Map {
    def: MapDef,
    ncpus: u32,
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Array(array::ArrayMap),
    Hash(hash::HashMap),
    SkStorage(sk_storage::SkStorageMap),
}

/// `round_up(x, 8)`.
pub(crate) fn round_up8(x: usize) -> usize {
    x.div_ceil(8) * 8
}

/// The kernel's `roundup_pow_of_two` (1 for 0 and 1), widened so 2^32 is representable.
pub fn roundup_pow_of_two(x: u32) -> u64 {
    u64::from(x.max(1)).next_power_of_two()
}

/// Checks an update value's shape before anything changes; sizes that do not fit are
/// `EINVAL`.
pub(crate) fn check_update_value(
    value: &UpdateValue<'_>,
    percpu: bool,
    value_size: usize,
    ncpus: usize,
) -> Result<(), Errno> {
    let stride = round_up8(value_size);
    match value {
        UpdateValue::Same(v) if v.len() == value_size => Ok(()),
        UpdateValue::PerCpu(vs) if percpu => {
            if vs.len() > ncpus
                || vs
                    .iter()
                    .any(|v| v.len() != value_size && v.len() != stride)
            {
                Err(Errno::EINVAL)
            } else {
                Ok(())
            }
        }
        UpdateValue::PerCpu(vs) if vs.len() == 1 && vs[0].len() == value_size => Ok(()),
        _ => Err(Errno::EINVAL),
    }
}

/// Writes a checked user-space value into a per-CPU area (`ncpus * stride` bytes) the way
/// the syscall does (`onallcpus`): whole slots, padding included.
pub(crate) fn write_percpu_all(dst: &mut [u8], value: &UpdateValue<'_>, value_size: usize) {
    let stride = round_up8(value_size);
    for (cpu, slot) in dst.chunks_exact_mut(stride).enumerate() {
        let src: &[u8] = match value {
            UpdateValue::Same(v) => v,
            UpdateValue::PerCpu(vs) => vs.get(cpu).map_or(&[], Vec::as_slice),
        };
        let n = src.len().min(stride);
        slot[..n].copy_from_slice(&src[..n]);
        slot[n..].fill(0);
    }
}

/// The single value of a checked update for a non-per-CPU map.
pub(crate) fn single_value<'a>(value: &UpdateValue<'a>) -> &'a [u8] {
    match *value {
        UpdateValue::Same(v) => v,
        UpdateValue::PerCpu(vs) => vs.first().map_or(&[], Vec::as_slice),
    }
}

fn check_def(def: &MapDef, ncpus: u32) -> Result<(), MapError> {
    let name = || def.name.clone();
    if ncpus == 0 {
        return Err(MapError::NoCpus {
            name: name(),
            ncpus,
        });
    }
    let flags_err = |reason| MapError::Flags {
        name: name(),
        flags: def.flags,
        kind: def.kind,
        reason,
    };
    // bpf_map_flags_access_ok() and bpf_get_file_flag(): no read-only + write-only pairs.
    let both = |a: u32, b: u32| def.flags & (a | b) == a | b;
    let access_ok =
        !both(BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG) && !both(BPF_F_RDONLY, BPF_F_WRONLY);
    let zero = |field| MapError::Zero {
        name: name(),
        field,
    };
    let percpu = def.kind.is_percpu();
    if def.kind.is_sk_storage() {
        return check_sk_storage(def);
    }
    if def.kind.is_array() {
        // array_map_alloc_check
        if def.max_entries == 0 {
            return Err(zero("max_entries"));
        }
        if def.key_size != 4 {
            return Err(MapError::ArrayKeySize {
                name: name(),
                key_size: def.key_size,
            });
        }
        if def.value_size == 0 {
            return Err(zero("value_size"));
        }
        if def.flags & !ARRAY_FLAGS != 0 {
            return Err(flags_err("unknown flags for an array"));
        }
        if !access_ok {
            return Err(flags_err("read-only and write-only access flags together"));
        }
        if def.kind != MapKind::Array && def.flags & BPF_F_MMAPABLE != 0 {
            return Err(flags_err("BPF_F_MMAPABLE is only for BPF_MAP_TYPE_ARRAY"));
        }
        if u64::from(def.value_size) > i32::MAX as u64 {
            return Err(MapError::TooBig {
                name: name(),
                field: "value_size",
                value: def.value_size.into(),
                limit: i32::MAX as u64,
            });
        }
    } else {
        // htab_map_alloc_check
        if def.flags & !HTAB_FLAGS != 0 {
            return Err(flags_err("unknown flags for a hash map"));
        }
        if !access_ok {
            return Err(flags_err("read-only and write-only access flags together"));
        }
        if !def.kind.is_lru() && def.flags & BPF_F_NO_COMMON_LRU != 0 {
            return Err(flags_err("BPF_F_NO_COMMON_LRU needs an LRU map"));
        }
        if def.kind.is_lru() && def.flags & BPF_F_NO_PREALLOC != 0 {
            return Err(MapError::LruNoPrealloc {
                name: name(),
                kind: def.kind,
            });
        }
        if def.max_entries == 0 {
            return Err(zero("max_entries"));
        }
        if def.key_size == 0 {
            return Err(zero("key_size"));
        }
        if def.value_size == 0 {
            return Err(zero("value_size"));
        }
        let kv = u64::from(def.key_size) + u64::from(def.value_size);
        if kv >= HTAB_KV_LIMIT {
            return Err(MapError::TooBig {
                name: name(),
                field: "key_size + value_size",
                value: kv,
                limit: HTAB_KV_LIMIT - 1,
            });
        }
    }
    if percpu && round_up8(def.value_size as usize) as u64 > PCPU_MIN_UNIT_SIZE {
        return Err(MapError::TooBig {
            name: name(),
            field: "value_size",
            value: def.value_size.into(),
            limit: PCPU_MIN_UNIT_SIZE,
        });
    }
    Ok(())
}

/// `BPF_F_CLONE`: clone the storage to sockets accepted from a listener (sk_storage only).
pub const BPF_F_CLONE: u32 = 0x200;
/// The largest sk_storage value (`BPF_LOCAL_STORAGE_MAX_VALUE_SIZE`): `U16_MAX` minus the
/// storage element header. The header size is the emulator's estimate (not measured).
pub const BPF_LOCAL_STORAGE_MAX_VALUE_SIZE: u32 = u16::MAX as u32 - 96;

/// `bpf_local_storage_map_alloc_check`, in the kernel's order.
fn check_sk_storage(def: &MapDef) -> Result<(), MapError> {
    let bad = |reason| MapError::SkStorage {
        name: def.name.clone(),
        reason,
    };
    if def.flags & !(BPF_F_NO_PREALLOC | BPF_F_CLONE) != 0 {
        return Err(bad(
            "accepts only the flags BPF_F_NO_PREALLOC and BPF_F_CLONE",
        ));
    }
    if def.flags & BPF_F_NO_PREALLOC == 0 {
        return Err(bad("needs BPF_F_NO_PREALLOC (flags 1)"));
    }
    if def.max_entries != 0 {
        return Err(bad("needs max_entries 0"));
    }
    if def.key_size != 4 {
        return Err(bad("needs key_size 4 (the key is a socket fd)"));
    }
    if def.value_size == 0 {
        return Err(bad("needs a value_size"));
    }
    if def.value_size > BPF_LOCAL_STORAGE_MAX_VALUE_SIZE {
        return Err(MapError::TooBig {
            name: def.name.clone(),
            field: "value_size",
            value: def.value_size.into(),
            limit: BPF_LOCAL_STORAGE_MAX_VALUE_SIZE.into(),
        });
    }
    Ok(())
}

/// The hash table's `max_entries` limits (`htab_map_alloc`): at most 2^31 elements, and a
/// bucket array (16-byte `struct bucket`s) whose byte count fits a u32.
fn check_hash_entries(def: &MapDef) -> Result<(), MapError> {
    if u64::from(def.max_entries) > 1 << 31 {
        return Err(MapError::TooBig {
            name: def.name.clone(),
            field: "max_entries",
            value: def.max_entries.into(),
            limit: 1 << 31,
        });
    }
    if roundup_pow_of_two(def.max_entries) > u64::from(u32::MAX) / HTAB_BUCKET_SIZE {
        return Err(MapError::TooBig {
            name: def.name.clone(),
            field: "max_entries",
            value: def.max_entries.into(),
            limit: 1 << 27,
        });
    }
    Ok(())
}

impl Map {
    /// `BPF_MAP_CREATE` for a machine with `ncpus` possible CPUs. `hash_seed` is the map's
    /// `hashrnd` unless `BPF_F_ZERO_SEED` is set (then it is 0). All element storage is
    /// allocated here.
    ///
    /// # Examples
    ///
    /// ```
    /// use iterscope_emulator::maps::{Map, MapDef, MapKind, MapLimits, UpdateValue, BPF_ANY, BPF_F_ZERO_SEED};
    /// let def = MapDef { kind: MapKind::Hash, key_size: 4, value_size: 4, max_entries: 64,
    ///                    flags: BPF_F_ZERO_SEED, name: "m".into() };
    /// let mut map = Map::create(def, 2, 0, &MapLimits::default()).unwrap();
    /// for k in 1u32..=3 {
    ///     map.update(&k.to_le_bytes(), UpdateValue::Same(&[0; 4]), BPF_ANY, 0).unwrap();
    /// }
    /// let keys: Vec<u8> = map.dump().iter().map(|(k, _)| k[0]).collect();
    /// assert_eq!(keys, [2, 3, 1]); // bucket order of jhash with seed 0
    /// ```
    pub fn create(
        mut def: MapDef,
        ncpus: u32,
        hash_seed: u32,
        limits: &MapLimits,
    ) -> Result<Map, MapError> {
        check_def(&def, ncpus)?;
        if def.kind.is_lru() && def.flags & BPF_F_NO_COMMON_LRU != 0 {
            // Each CPU's list gets the same number of nodes: round up to a multiple of
            // ncpus, or down when rounding up would overflow.
            let up = u64::from(def.max_entries).div_ceil(u64::from(ncpus)) * u64::from(ncpus);
            def.max_entries = u32::try_from(up).unwrap_or(def.max_entries / ncpus * ncpus);
        }
        let inner = if def.kind.is_sk_storage() {
            let none = crate::sock::SocketTable::default();
            Inner::SkStorage(sk_storage::SkStorageMap::new(&def, &none, limits)?)
        } else if def.kind.is_array() {
            Inner::Array(array::ArrayMap::new(&def, ncpus, limits)?)
        } else {
            check_hash_entries(&def)?;
            let seed = if def.flags & BPF_F_ZERO_SEED != 0 {
                0
            } else {
                hash_seed
            };
            Inner::Hash(hash::HashMap::new(&def, ncpus, seed, limits)?)
        };
        Ok(Map { def, ncpus, inner })
    }

    /// `BPF_MAP_CREATE` of an sk_storage map (or any other kind, for which the sockets do not
    /// matter) over `sockets`: socket `i` is fd [`crate::sock::SOCK_FD_BASE`]` + i`.
    ///
    /// # Errors
    ///
    /// As [`Map::create`].
    pub fn create_with_sockets(
        def: MapDef,
        ncpus: u32,
        sockets: &crate::sock::SocketTable,
        limits: &MapLimits,
    ) -> Result<Map, MapError> {
        if !def.kind.is_sk_storage() {
            return Map::create(def, ncpus, 0, limits);
        }
        check_def(&def, ncpus)?;
        let inner = Inner::SkStorage(sk_storage::SkStorageMap::new(&def, sockets, limits)?);
        Ok(Map { def, ncpus, inner })
    }

    /// The socket whose `struct sock` image in this sk_storage map starts at `addr` (what
    /// `ctx->sk` holds); `None` for other addresses and other maps.
    pub fn socket_at(&self, addr: u64) -> Option<usize> {
        match &self.inner {
            Inner::SkStorage(s) => s.socket_at(addr),
            _ => None,
        }
    }

    /// The key a call record shows for the iterated element at `key_addr`: for an
    /// sk_storage map the socket's fd (the key user space uses), else `None` (the key bytes
    /// at `key_addr` are the key).
    pub fn record_key(&self, key_addr: u64) -> Option<[u8; 4]> {
        self.socket_at(key_addr).map(sk_storage::fd_key)
    }

    /// `bpf_sk_storage_get` on socket `index`: the guest address of its value, created from
    /// `init` (zeroes when `None`) when absent and `create` is set. `None`: no storage (or
    /// not an sk_storage map).
    pub fn sk_storage_get(
        &mut self,
        index: usize,
        init: Option<&[u8]>,
        create: bool,
    ) -> Option<u64> {
        match &mut self.inner {
            Inner::SkStorage(s) => s.get(index, init, create),
            _ => None,
        }
    }

    /// `bpf_sk_storage_delete` on socket `index`: `ENOENT` without storage, `EINVAL` for a
    /// map that is not an sk_storage map.
    pub fn sk_storage_delete(&mut self, index: usize) -> Result<(), Errno> {
        match &mut self.inner {
            Inner::SkStorage(s) => s.delete(&sk_storage::fd_key(index)),
            _ => Err(Errno::EINVAL),
        }
    }

    /// The value of socket `index` in an sk_storage map (`None`: no storage, or not an
    /// sk_storage map).
    pub fn socket_value(&self, index: usize) -> Option<Vec<u8>> {
        match &self.inner {
            Inner::SkStorage(s) => match s.value_of(index)? {
                DumpValue::Single(v) => Some(v),
                DumpValue::PerCpu(_) => None,
            },
            _ => None,
        }
    }

    /// The effective definition (`BPF_F_NO_COMMON_LRU` rounds `max_entries` up to a multiple
    /// of the CPU count).
    pub fn def(&self) -> &MapDef {
        &self.def
    }

    /// Number of possible CPUs the map was created for.
    pub fn ncpus(&self) -> u32 {
        self.ncpus
    }

    /// `round_up(value_size, 8)`: the size of one CPU's slot in per-CPU buffers.
    pub fn value_stride(&self) -> usize {
        round_up8(self.def.value_size as usize)
    }

    /// Bytes behind `ctx->value`: `value_size`, or `value_stride() * ncpus` for per-CPU maps.
    pub fn iter_value_size(&self) -> usize {
        if self.def.kind.is_percpu() {
            self.value_stride() * self.ncpus as usize
        } else {
            self.def.value_size as usize
        }
    }

    /// Live elements (arrays: always `max_entries`).
    pub fn len(&self) -> usize {
        match &self.inner {
            Inner::Array(a) => a.len(),
            Inner::Hash(h) => h.len(),
            Inner::SkStorage(s) => s.len(),
        }
    }

    /// Whether no element is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `BPF_MAP_UPDATE_ELEM` from user space running on `cpu`, with the kernel's errnos.
    pub fn update(
        &mut self,
        key: &[u8],
        value: UpdateValue<'_>,
        flags: u64,
        cpu: u32,
    ) -> Result<(), Errno> {
        if key.len() != self.def.key_size as usize || cpu >= self.ncpus {
            return Err(Errno::EINVAL);
        }
        check_update_value(
            &value,
            self.def.kind.is_percpu(),
            self.def.value_size as usize,
            self.ncpus as usize,
        )?;
        match &mut self.inner {
            Inner::Array(a) => a.update_sys(key, &value, flags),
            Inner::Hash(h) => h.update(key, hash::NewValue::Sys(&value), flags, cpu),
            Inner::SkStorage(s) => s.update(key, &value, flags),
        }
    }

    /// The `bpf_map_update_elem` helper called by a program on `cpu`: `value` is `value_size`
    /// bytes; per-CPU maps update only `cpu`'s copy (new per-CPU hash elements get zeros on the
    /// other CPUs).
    pub fn update_from_prog(
        &mut self,
        key: &[u8],
        value: &[u8],
        flags: u64,
        cpu: u32,
    ) -> Result<(), Errno> {
        if key.len() != self.def.key_size as usize
            || value.len() != self.def.value_size as usize
            || cpu >= self.ncpus
        {
            return Err(Errno::EINVAL);
        }
        match &mut self.inner {
            Inner::Array(a) => a.update_prog(key, value, flags, cpu),
            Inner::Hash(h) => h.update(key, hash::NewValue::Prog(value), flags, cpu),
            // Programs reach socket storage through bpf_sk_storage_get, not by fd.
            Inner::SkStorage(_) => Err(Errno::EINVAL),
        }
    }

    /// `BPF_MAP_DELETE_ELEM` / `bpf_map_delete_elem` on `cpu`: `ENOENT` for a missing key,
    /// `EINVAL` on arrays.
    pub fn delete(&mut self, key: &[u8], cpu: u32) -> Result<(), Errno> {
        match &mut self.inner {
            Inner::Array(_) => Err(Errno::EINVAL),
            Inner::Hash(h) => {
                if key.len() != self.def.key_size as usize || cpu >= self.ncpus {
                    return Err(Errno::EINVAL);
                }
                h.delete(key)
            }
            Inner::SkStorage(s) => s.delete(key),
        }
    }

    /// `bpf_map_lookup_elem` from a program on `cpu`: the guest address of the value (per-CPU
    /// maps: this CPU's copy, in the map). Sets the LRU reference bit.
    pub fn lookup_prog(&mut self, key: &[u8], cpu: u32) -> Option<u64> {
        if key.len() != self.def.key_size as usize || cpu >= self.ncpus {
            return None;
        }
        match &mut self.inner {
            Inner::Array(a) => a.lookup_prog(key, cpu),
            Inner::Hash(h) => h.lookup_prog(key, cpu),
            Inner::SkStorage(_) => None,
        }
    }

    /// `BPF_MAP_LOOKUP_ELEM` from user space (no reference bit).
    pub fn lookup_sys(&self, key: &[u8]) -> Option<DumpValue> {
        if key.len() != self.def.key_size as usize {
            return None;
        }
        match &self.inner {
            Inner::Array(a) => a.lookup_sys(key),
            Inner::Hash(h) => h.lookup_sys(key),
            Inner::SkStorage(s) => s.lookup_sys(key),
        }
    }

    /// The kernel's `seq_start`: (re)locates the element at the cursor, or the next one.
    /// Per-CPU values are copied into the map's iterator buffer, whose address is returned.
    /// Does not allocate.
    pub fn iter_start(&mut self, cur: &mut IterCursor) -> Option<IterElem> {
        match &mut self.inner {
            Inner::Array(a) => a.iter_at(cur),
            Inner::Hash(h) => h.iter_start(cur),
            Inner::SkStorage(s) => s.iter_at(cur),
        }
    }

    /// The kernel's `seq_next`: advances past the element last returned, then as
    /// [`Map::iter_start`]. Does not allocate.
    pub fn iter_next(&mut self, cur: &mut IterCursor) -> Option<IterElem> {
        match &mut self.inner {
            Inner::Array(a) => {
                cur.index = cur.index.saturating_add(1);
                a.iter_at(cur)
            }
            Inner::Hash(h) => h.iter_next(cur),
            Inner::SkStorage(s) => {
                cur.index = cur.index.saturating_add(1);
                s.iter_at(cur)
            }
        }
    }

    /// Every element in `BPF_MAP_GET_NEXT_KEY` order (the iterator's order); arrays list
    /// every index.
    pub fn dump(&self) -> Vec<(Vec<u8>, DumpValue)> {
        match &self.inner {
            Inner::Array(a) => a.dump(),
            Inner::Hash(h) => h.dump(),
            Inner::SkStorage(s) => s.dump(),
        }
    }

    /// Every region a program can be handed a pointer into; fixed for the map's life.
    pub fn regions(&self) -> Vec<&Region> {
        self.region_refs().into_iter().flatten().collect()
    }

    fn region_refs(&self) -> [Option<&Region>; 3] {
        match &self.inner {
            Inner::Array(a) => a.region_refs(),
            Inner::Hash(h) => h.region_refs(),
            Inner::SkStorage(s) => s.region_refs(),
        }
    }

    /// The region (and its index in [`Map::regions`]) in which an access at `addr` starts.
    pub fn region_at(&self, addr: u64) -> Option<(usize, &Region)> {
        self.region_refs()
            .into_iter()
            .flatten()
            .enumerate()
            .find(|(_, r)| r.starts_in(addr))
    }

    /// Writable form of [`Map::region_at`].
    pub fn region_at_mut(&mut self, addr: u64) -> Option<&mut Region> {
        let regions = match &mut self.inner {
            Inner::Array(a) => a.region_muts(),
            Inner::Hash(h) => h.region_muts(),
            Inner::SkStorage(s) => s.region_muts(),
        };
        regions.into_iter().flatten().find(|r| r.starts_in(addr))
    }

    /// `len` bytes at guest address `addr` if they lie inside one of the map's regions.
    pub fn read_guest(&self, addr: u64, len: usize) -> Option<&[u8]> {
        let r = self
            .region_refs()
            .into_iter()
            .flatten()
            .find(|r| r.contains(addr, len))?;
        r.get(usize::try_from(addr - r.addr()).ok()?, len)
    }

    /// Writable `len` bytes at guest address `addr` if they lie inside one of the map's
    /// regions.
    pub fn write_guest(&mut self, addr: u64, len: usize) -> Option<&mut [u8]> {
        let regions = match &mut self.inner {
            Inner::Array(a) => a.region_muts(),
            Inner::Hash(h) => h.region_muts(),
            Inner::SkStorage(s) => s.region_muts(),
        };
        let r = regions
            .into_iter()
            .flatten()
            .find(|r| r.contains(addr, len))?;
        let off = usize::try_from(addr - r.addr()).ok()?;
        r.get_mut(off, len)
    }
}

/// Bytes a map of `slots` elements of `slot_size` bytes plus `extra` bookkeeping bytes needs,
/// checked against the limit.
pub(crate) fn check_size(
    name: &str,
    parts: &[(u64, u64)],
    limits: &MapLimits,
) -> Result<usize, MapError> {
    let bytes = parts.iter().fold(0u64, |acc, &(n, size)| {
        acc.saturating_add(n.saturating_mul(size))
    });
    match usize::try_from(bytes) {
        Ok(b) if b <= limits.max_bytes => Ok(b),
        _ => Err(MapError::TooLarge {
            name: name.to_owned(),
            bytes,
            limit: limits.max_bytes,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(kind: MapKind, ks: u32, vs: u32, max: u32, flags: u32) -> MapDef {
        MapDef {
            kind,
            key_size: ks,
            value_size: vs,
            max_entries: max,
            flags,
            name: "t".into(),
        }
    }

    fn create(d: MapDef) -> Result<Map, MapError> {
        Map::create(d, 2, 0, &MapLimits::default())
    }

    #[test]
    fn kind_names_round_trip() {
        for k in MapKind::ALL {
            assert_eq!(k.to_string().parse::<MapKind>(), Ok(k));
        }
        assert_eq!(MapKind::LruPercpuHash.bpf_map_type(), 10);
        assert_eq!(
            MapKind::PercpuArray.kernel_name(),
            "BPF_MAP_TYPE_PERCPU_ARRAY"
        );
        assert!("queue".parse::<MapKind>().is_err());
        assert!(MapKind::LruPercpuHash.is_percpu() && MapKind::LruPercpuHash.is_lru());
        assert!(!MapKind::Hash.is_array() && MapKind::PercpuArray.is_array());
    }

    #[test]
    fn check_agrees_with_create() {
        let defs = [
            def(MapKind::Hash, 0, 4, 4, 0),
            def(MapKind::Array, 8, 4, 4, 0),
            def(MapKind::Hash, 4, 4, u32::MAX, 0),
            def(MapKind::LruHash, 4, 4, (1 << 27) + 1, 0),
            def(MapKind::Hash, 4, 4, 4, BPF_F_NO_COMMON_LRU),
            def(MapKind::PercpuHash, 4, 8, 16, BPF_F_ZERO_SEED),
        ];
        for d in defs {
            assert_eq!(d.check(2), create(d.clone()).map(|_| ()), "{d:?}");
        }
    }

    #[test]
    fn creation_errnos() {
        let e = |d| create(d).unwrap_err().errno();
        assert_eq!(e(def(MapKind::Hash, 0, 4, 4, 0)), Errno::EINVAL);
        assert_eq!(e(def(MapKind::Hash, 4, 0, 4, 0)), Errno::EINVAL);
        assert_eq!(e(def(MapKind::Hash, 4, 4, 0, 0)), Errno::EINVAL);
        assert_eq!(e(def(MapKind::Array, 8, 4, 4, 0)), Errno::EINVAL);
        assert_eq!(
            e(def(MapKind::Array, 4, 4, 4, BPF_F_ZERO_SEED)),
            Errno::EINVAL
        );
        assert_eq!(
            e(def(MapKind::Hash, 4, 4, 4, BPF_F_NO_COMMON_LRU)),
            Errno::EINVAL
        );
        assert_eq!(e(def(MapKind::Hash, 4, 4, 4, 0x8000)), Errno::EINVAL);
        assert_eq!(e(def(MapKind::Hash, 4, 4, 4, 0x180)), Errno::EINVAL);
        assert_eq!(e(def(MapKind::Array, 4, 4, 4, 0x18)), Errno::EINVAL);
        assert_eq!(
            e(def(MapKind::PercpuArray, 4, 4, 4, BPF_F_MMAPABLE)),
            Errno::EINVAL
        );
        assert_eq!(
            e(def(MapKind::LruHash, 4, 4, 4, BPF_F_NO_PREALLOC)),
            Errno::ENOTSUPP
        );
        assert_eq!(e(def(MapKind::Hash, 4, 4 << 20, 4, 0)), Errno::E2BIG);
        assert_eq!(e(def(MapKind::PercpuHash, 4, 40_000, 4, 0)), Errno::E2BIG);
        assert_eq!(e(def(MapKind::Hash, 4, 4, u32::MAX, 0)), Errno::E2BIG);
        assert_eq!(
            e(def(MapKind::LruHash, 4, 4, (1 << 27) + 1, 0)),
            Errno::E2BIG
        );
        let big = Map::create(
            def(MapKind::Array, 4, 1024, 1 << 20, 0),
            2,
            0,
            &MapLimits { max_bytes: 1 << 20 },
        )
        .unwrap_err();
        assert!(matches!(big, MapError::TooLarge { .. }), "{big}");
        assert!(big.to_string().contains("'t'"));
        let msg = create(def(MapKind::Hash, 0, 4, 4, 0))
            .unwrap_err()
            .to_string();
        assert_eq!(msg, "map 't': key_size must not be 0");
        assert!(create(def(
            MapKind::Array,
            4,
            4,
            4,
            BPF_F_MMAPABLE | BPF_F_RDONLY_PROG
        ))
        .is_ok());
    }

    #[test]
    fn no_common_lru_rounds_max_entries() {
        let m = create(def(MapKind::LruHash, 4, 4, 9, BPF_F_NO_COMMON_LRU)).unwrap();
        assert_eq!(m.def().max_entries, 10);
        let m = create(def(MapKind::LruHash, 4, 4, 9, 0)).unwrap();
        assert_eq!(m.def().max_entries, 9);
    }

    #[test]
    fn sizes_and_pow2() {
        assert_eq!(roundup_pow_of_two(0), 1);
        assert_eq!(roundup_pow_of_two(1), 1);
        assert_eq!(roundup_pow_of_two(60), 64);
        assert_eq!(roundup_pow_of_two(u32::MAX), 1 << 32);
        let m = create(def(MapKind::PercpuHash, 4, 4, 4, 0)).unwrap();
        assert_eq!(m.value_stride(), 8);
        assert_eq!(m.iter_value_size(), 16);
        let m = create(def(MapKind::Hash, 4, 12, 4, 0)).unwrap();
        assert_eq!(m.iter_value_size(), 12);
    }
}
