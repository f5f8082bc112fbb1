//! Scenarios: the kernel oracle's `case.json` format, run end to end, reported in the
//! oracle's `expected.json` shape.
//!
//! A [`Scenario`] names a program, describes the iterated map (type, sizes, flags, entries or
//! a generator, then update/delete ops) and the read sessions to perform. [`run_scenario`]
//! loads the object, creates the maps (the iterated one, the object's own `.maps` and its
//! global-data maps), applies the entries and ops as `BPF_MAP_UPDATE_ELEM` /
//! `BPF_MAP_DELETE_ELEM` from userspace on the scenario's CPU (failures recorded, as the
//! oracle does), loads the program through the verifier (a rejection is reported with
//! Linux's error line and errno, and nothing runs), attaches (the sleepable and access-size
//! checks of `BPF_LINK_CREATE`), runs each read session to EOF or error, and dumps the map if
//! asked. [`Report::to_json`] prints the fields the oracle's README defines, so recorded
//! cases compare field by field.
//!
//! Socket scenarios (the sk-oracle's format) add `sockets` ([`crate::sock::SocketSpec`]), a
//! map of type `sk_storage` with per-socket `storage` and socket `ops`, and optionally an
//! `attach_map` to attach the program to instead. Their report adds `sockets` (with the
//! emulator-chosen ports), `map_create` (when `BPF_MAP_CREATE` fails; nothing else runs) and
//! `map_after` per socket.
//!
//! Not here: compiling C or assembling (the CLI does that), the rules themselves
//! (`verifier`), the read protocol (`iter`).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::elf::typed::{self, SectionLayout, TypedValue};
use crate::elf::{self, Btf, ProgramKind, RelocTarget};
use crate::errno::Errno;
use crate::helpers::runtime::World;
pub use crate::iter::CallRecord;
use crate::iter::{Machine, ReadError, ReadStep, Session};
use crate::maps::{
    DumpValue, Map, MapDef, MapError, MapKind, MapLimits, UpdateValue, BPF_ANY, BPF_EXIST,
    BPF_F_MMAPABLE, BPF_F_NO_PREALLOC, BPF_F_RDONLY_PROG, BPF_F_ZERO_SEED, BPF_NOEXIST,
};
use crate::sock::{Socket, SocketSpec, SocketTable};
use crate::verifier::{self, LddwTarget, MapRef};
use crate::vm::{Code, Patch};
use crate::Error;

/// A scenario file (the oracle's `case.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Scenario {
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// The program: a `.o`, a `.c` the CLI compiles or a `.s` it assembles; relative to the
    /// scenario file.
    pub program: String,
    /// Extra clang flags for a `.c` program.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cflags: Vec<String>,
    /// Sockets to create, in order (socket scenarios).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sockets: Vec<SocketSpec>,
    /// The iterated map (for a socket scenario: the `sk_storage` map).
    pub map: MapScenario,
    /// Socket scenarios: another map to create and attach the program to instead of the
    /// sk_storage map.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_map: Option<MapScenario>,
    /// One entry per read session; default one session of 4096-byte reads.
    #[serde(default = "default_reads")]
    pub reads: Vec<ReadSpec>,
    /// Dump the map (GET_NEXT_KEY order) after all reads.
    #[serde(default)]
    pub dump_map_after: bool,
    /// Report sha256/lines/head/tail instead of the text.
    #[serde(default)]
    pub output_summary_only: bool,
    /// Only the multiset of output lines is stable (random hash seed).
    #[serde(default)]
    pub order_insensitive: bool,
    /// CPU the updates and the program run on.
    #[serde(default)]
    pub cpu: u32,
    /// Emulator only: the hash seed of a map created without `BPF_F_ZERO_SEED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_seed: Option<u32>,
}

fn default_key_size() -> u32 {
    4
}

/// A socket's initial storage value.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StorageEntry {
    /// Index into the scenario's `sockets`.
    pub socket: usize,
    /// `value_size` bytes in hex.
    pub value: String,
    /// `any` (default), `noexist` or `exist`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<String>,
}

fn default_reads() -> Vec<ReadSpec> {
    vec![ReadSpec::default()]
}

/// One read session.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReadSpec {
    /// Bytes asked for per read(2).
    #[serde(default = "default_read_size")]
    pub read_size: usize,
}

impl Default for ReadSpec {
    fn default() -> Self {
        ReadSpec { read_size: 4096 }
    }
}

fn default_read_size() -> usize {
    4096
}

/// The iterated map of a scenario.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MapScenario {
    /// `hash`, `array`, `percpu_hash`, `percpu_array`, `lru_hash`, `lru_percpu_hash`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Map name (at most 15 characters); default `orc_map`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Key size in bytes (default 4).
    #[serde(default = "default_key_size")]
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// max_entries (default 0, what an sk_storage map needs).
    #[serde(default)]
    pub max_entries: u32,
    /// map_flags (64 = `BPF_F_ZERO_SEED`).
    #[serde(default)]
    pub flags: u32,
    /// Entries applied first.
    #[serde(default)]
    pub entries: Entries,
    /// Operations applied after the entries, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ops: Vec<Op>,
    /// sk_storage: per-socket values applied first (`BPF_MAP_UPDATE_ELEM` with the socket's
    /// fd).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storage: Vec<StorageEntry>,
    /// sk_storage: whether the map is created with key and value BTF (default true; the
    /// kernel refuses an sk_storage map without, with EINVAL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub btf: Option<bool>,
    /// Emulator only: a BTF type of the object to decode keys as (`"struct triple"`); the
    /// iterated map is not in the object, so its types are not otherwise known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_type: Option<String>,
    /// Emulator only: a BTF type of the object to decode values as (`"__u64"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_type: Option<String>,
}

/// Explicit entries or a generator.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Entries {
    /// Explicit entries.
    List(Vec<Entry>),
    /// `{"gen":"seq", ...}`.
    Gen(Generator),
}

impl Default for Entries {
    fn default() -> Self {
        Entries::List(Vec::new())
    }
}

/// One entry: hex key, hex value (or one per CPU), update flag.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// Key bytes in hex.
    pub key: String,
    /// Value bytes in hex, or one hex value per CPU.
    pub value: HexValue,
    /// `any` (default), `noexist` or `exist`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<String>,
}

/// A hex value or a per-CPU list of hex values.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum HexValue {
    /// One value (replicated to every CPU of a per-CPU map).
    One(String),
    /// One value per CPU.
    PerCpu(Vec<String>),
}

/// `key = start + i*step`, `value = key*mul + add (+ cpu*cpu_add)`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Generator {
    /// Only `seq`.
    pub gen: String,
    /// Number of entries.
    pub count: u64,
    /// First key.
    #[serde(default)]
    pub start: u64,
    /// Key step.
    #[serde(default = "one")]
    pub step: u64,
    /// Value multiplier.
    #[serde(default = "one")]
    pub mul: u64,
    /// Value addend.
    #[serde(default)]
    pub add: u64,
    /// Per-CPU value addend per CPU index.
    #[serde(default)]
    pub cpu_add: u64,
}

fn one() -> u64 {
    1
}

/// An update or delete after the entries.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Op {
    /// `update` or `delete`.
    pub op: String,
    /// Key bytes in hex (maps other than sk_storage).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    /// The socket (sk_storage maps, whose key is the socket's fd).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<usize>,
    /// Value for updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<HexValue>,
    /// `any` (default), `noexist` or `exist`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<String>,
}

/// Why a scenario is not usable; names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    /// Not valid JSON or not the scenario shape.
    #[error("scenario is not valid: {0}")]
    Json(String),
    /// A field has a bad value.
    #[error("scenario field {field}: {what}")]
    Field {
        /// JSON path of the field (`map.entries[3].key`).
        field: String,
        /// What is wrong.
        what: String,
    },
    /// The object has no iterator program.
    #[error(
        "object has no SEC(\"iter/bpf_map_elem\") or SEC(\"iter/bpf_sk_storage_map\") program"
    )]
    NoProgram,
    /// The iterated map could not be created (what BPF_MAP_CREATE would return).
    #[error("map create failed: {0}")]
    MapCreate(String),
}

impl Scenario {
    /// Parses a scenario from JSON text. An `sk_storage` map without `flags` gets
    /// `BPF_F_NO_PREALLOC` (1), the sk-oracle's default.
    pub fn from_json(text: &str) -> Result<Scenario, Error> {
        // Which fields were given is read by a small probe, not a `serde_json::Value`: a
        // second full deserialization through `Value` would double the code of every
        // scenario type in the browser bundle.
        #[derive(Deserialize)]
        struct Probe {
            map: ProbeMap,
        }
        #[derive(Deserialize)]
        struct ProbeMap {
            #[serde(rename = "type")]
            kind: String,
            #[serde(default)]
            flags: Option<serde::de::IgnoredAny>,
        }
        let json = |e: serde_json::Error| Error::Scenario(ScenarioError::Json(e.to_string()));
        let mut sc: Scenario = serde_json::from_str(text).map_err(json)?;
        let probe: Probe = serde_json::from_str(text).map_err(json)?;
        if probe.map.kind == MapKind::SkStorage.name() && probe.map.flags.is_none() {
            sc.map.flags = BPF_F_NO_PREALLOC;
        }
        Ok(sc)
    }

    /// Whether this is a socket scenario (its map is `sk_storage`).
    pub fn is_socket_scenario(&self) -> bool {
        self.map.kind == MapKind::SkStorage.name()
    }

    /// Serialises back to pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Options of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Possible CPUs (2 in the recorded cases).
    pub ncpus: u32,
    /// Seed for maps without `BPF_F_ZERO_SEED` (overridden by the scenario's `hash_seed`);
    /// None: random, as on Linux.
    pub hash_seed: Option<u32>,
    /// Record every call of the first session.
    pub record_calls: bool,
    /// Memory limits for maps.
    pub limits: MapLimits,
    /// Seed of `bpf_get_prandom_u32`.
    pub prandom_seed: u64,
    /// Dump the iterated map after the run even without the scenario's `dump_map_after`
    /// when its `max_entries` is at most this (0: never), for decoded output.
    pub dump_map_max: u32,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            ncpus: 2,
            hash_seed: None,
            record_calls: false,
            limits: MapLimits::default(),
            prandom_seed: 0x5eed,
            dump_map_max: 0,
        }
    }
}

/// A failed entry or op (`{"entry": i, "error": ...}` / `{"op": i, ...}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateFailure {
    /// `entry` or `op`.
    pub kind: &'static str,
    /// Index in its list.
    pub index: usize,
    /// The errno.
    pub errno: Errno,
}

/// One read session's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadReport {
    /// Bytes asked for per read(2).
    pub read_size: usize,
    /// All bytes read.
    pub bytes: Vec<u8>,
    /// Successful read(2) calls, including the final 0-byte one.
    pub read_calls: u32,
    /// The error that ended the session, if any.
    pub read_error: Option<Errno>,
    /// Program invocations in the session.
    pub prog_calls: u64,
}

/// The result of a scenario, in the oracle's terms.
#[derive(Debug, Clone)]
pub struct Report {
    /// `ok` or `rejected`.
    pub load: String,
    /// The verifier's complaint, `""` when loaded.
    pub verifier_error: String,
    /// strerror of a rejected load.
    pub load_error: Option<String>,
    /// The verifier's log (kernel format).
    pub verifier_log: String,
    /// `ok`, `failed: <strerror> (<ERRNO>)`, or None when not attempted.
    pub attach: Option<String>,
    /// Possible CPUs.
    pub ncpus: u32,
    /// The map parameters as given.
    pub map: MapScenario,
    /// Failed entries and ops.
    pub map_update_failures: Vec<UpdateFailure>,
    /// One per read session.
    pub reads: Vec<ReadReport>,
    /// The map after all reads (when asked).
    pub map_after: Option<Vec<(Vec<u8>, DumpValue)>>,
    /// Calls of the first session (when recording).
    pub calls: Vec<CallRecord>,
    /// Summarise outputs.
    pub output_summary_only: bool,
    /// `bpf_trace_printk` output.
    pub trace_pipe: Vec<u8>,
    /// Contents of each global data section after all reads, in the object's section order.
    pub globals: Vec<GlobalSnapshot>,
    /// The object's own `.maps` maps after all reads, by name, for those with at most
    /// [`RunOptions::dump_map_max`] entries.
    pub object_maps: Vec<(String, MapDump)>,
    /// The engine that ran the program: rbpf, or the tracing interpreter for a program rbpf
    /// cannot execute (atomics, cpu v4).
    pub engine: crate::trace::EngineKind,
    /// Socket scenarios: the sockets, with the ports they got.
    pub sockets: Vec<Socket>,
    /// Socket scenarios: the errno of a failed `BPF_MAP_CREATE` (then nothing was loaded and
    /// `load` is empty).
    pub map_create: Option<Errno>,
    /// Socket scenarios: each socket's storage after the reads (`None`: no storage), when
    /// `dump_map_after` is set.
    pub sk_map_after: Option<Vec<Option<Vec<u8>>>>,
    /// Socket scenarios: the map the program was attached to instead of the sk_storage map.
    pub attach_map: Option<MapScenario>,
    /// Whether the scenario is a socket scenario.
    pub socket_scenario: bool,
}

/// A map's entries in GET_NEXT_KEY order: key bytes and value(s).
pub type MapDump = Vec<(Vec<u8>, DumpValue)>;

/// A global data section's contents after a run (from its internal array map).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalSnapshot {
    /// ELF section name (`.bss`).
    pub section: String,
    /// Kernel-visible map name (`prog.bss`).
    pub map_name: String,
    /// The section's bytes.
    pub bytes: Vec<u8>,
}

pub(crate) fn hex_decode(s: &str, field: &str) -> Result<Vec<u8>, ScenarioError> {
    let s = s.trim();
    let bad = |what: String| ScenarioError::Field {
        field: field.to_string(),
        what,
    };
    if !s.len().is_multiple_of(2) {
        return Err(bad(format!("hex string has odd length {}", s.len())));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(s.get(i..i + 2).unwrap_or("??"), 16)
                .map_err(|_| bad(format!("invalid hex at character {i}")))
        })
        .collect()
}

/// Lowercase hex of `bytes`.
pub fn hex_encode(bytes: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(D[(b >> 4) as usize] as char);
        s.push(D[(b & 15) as usize] as char);
    }
    s
}

pub(crate) fn parse_flag(f: Option<&str>, field: &str) -> Result<u64, ScenarioError> {
    match f.unwrap_or("any") {
        "any" => Ok(BPF_ANY),
        "noexist" => Ok(BPF_NOEXIST),
        "exist" => Ok(BPF_EXIST),
        other => Err(ScenarioError::Field {
            field: field.to_string(),
            what: format!("unknown flag {other:?} (any, noexist, exist)"),
        }),
    }
}

pub(crate) fn le_bytes(v: u64, size: usize) -> Vec<u8> {
    let mut out = vec![0u8; size];
    let b = v.to_le_bytes();
    let n = size.min(8);
    out[..n].copy_from_slice(&b[..n]);
    out
}

fn map_kind_of(type_id: u32) -> Option<MapKind> {
    [
        MapKind::Hash,
        MapKind::Array,
        MapKind::PercpuHash,
        MapKind::PercpuArray,
        MapKind::LruHash,
        MapKind::LruPercpuHash,
        MapKind::SkStorage,
    ]
    .into_iter()
    .find(|k| k.bpf_map_type() == type_id)
}

/// The most entries a [`Generator`] may produce for a map of `max_entries`: four times the
/// capacity (updates past a full hash map fail, as they do on Linux), at least 2^20.
pub fn generator_limit(max_entries: u32) -> u64 {
    u64::from(max_entries).saturating_mul(4).max(1 << 20)
}

fn field(field: impl Into<String>, what: impl Into<String>) -> Error {
    Error::Scenario(ScenarioError::Field {
        field: field.into(),
        what: what.into(),
    })
}

/// The sk_storage map of a socket scenario: `BPF_MAP_CREATE` (the outer `Err` is a scenario
/// that cannot be run, the inner one what `BPF_MAP_CREATE` returns), then the `storage`
/// values and the `ops` with each socket's fd as the key (failures recorded as
/// `{"storage": i}` / `{"op": i}`).
///
/// # Errors
///
/// [`ScenarioError::Field`] for a bad map name, hex value, flag, op or socket index.
pub fn build_sk_map(
    ms: &MapScenario,
    ncpus: u32,
    sockets: &SocketTable,
    limits: &MapLimits,
) -> Result<Result<(Map, Vec<UpdateFailure>), MapError>, Error> {
    let name = ms.name.clone().unwrap_or_else(|| "orc_sk_map".to_string());
    if name.len() > 15 {
        return Err(field(
            "map.name",
            format!("{name:?} is longer than 15 characters (BPF_OBJ_NAME_LEN - 1)"),
        ));
    }
    let def = MapDef {
        kind: MapKind::SkStorage,
        key_size: ms.key_size,
        value_size: ms.value_size,
        max_entries: ms.max_entries,
        flags: ms.flags,
        name,
    };
    if let Err(e) = def.check(ncpus) {
        return Ok(Err(e));
    }
    if ms.btf == Some(false) {
        return Ok(Err(MapError::SkStorage {
            name: def.name,
            reason: "needs key and value BTF (btf_key_type_id, btf_value_type_id)",
        }));
    }
    let mut map = match Map::create_with_sockets(def, ncpus, sockets, limits) {
        Ok(m) => m,
        Err(e) => return Ok(Err(e)),
    };
    let fd_of = |i: usize, f: &str| -> Result<[u8; 4], Error> {
        sockets
            .sockets
            .get(i)
            .map(|s| s.fd().to_le_bytes())
            .ok_or_else(|| {
                field(
                    f,
                    format!("socket {i} does not exist ({} sockets)", sockets.len()),
                )
            })
    };
    let mut failures = Vec::new();
    for (i, e) in ms.storage.iter().enumerate() {
        let f = format!("map.storage[{i}]");
        let key = fd_of(e.socket, &format!("{f}.socket"))?;
        let v = hex_decode(&e.value, &format!("{f}.value"))?;
        let flags = parse_flag(e.flags.as_deref(), &format!("{f}.flags"))?;
        if let Err(errno) = map.update(&key, UpdateValue::Same(&v), flags, 0) {
            failures.push(UpdateFailure {
                kind: "storage",
                index: i,
                errno,
            });
        }
    }
    for (i, op) in ms.ops.iter().enumerate() {
        let f = format!("map.ops[{i}]");
        let socket = op
            .socket
            .ok_or_else(|| field(format!("{f}.socket"), "an sk_storage op names a socket"))?;
        let key = fd_of(socket, &format!("{f}.socket"))?;
        let r = match op.op.as_str() {
            "update" => {
                let flags = parse_flag(op.flags.as_deref(), &format!("{f}.flags"))?;
                let Some(HexValue::One(h)) = &op.value else {
                    return Err(field(format!("{f}.value"), "an update needs one hex value"));
                };
                let v = hex_decode(h, &format!("{f}.value"))?;
                map.update(&key, UpdateValue::Same(&v), flags, 0)
            }
            "delete" => map.delete(&key, 0),
            other => {
                return Err(field(
                    format!("{f}.op"),
                    format!("unknown op {other:?} (update, delete)"),
                ))
            }
        };
        if let Err(errno) = r {
            failures.push(UpdateFailure {
                kind: "op",
                index: i,
                errno,
            });
        }
    }
    Ok(Ok((map, failures)))
}

/// Creates the iterated map of `ms` and applies its entries and ops on `cpu`.
pub fn build_map(
    ms: &MapScenario,
    ncpus: u32,
    cpu: u32,
    seed: u32,
    limits: &MapLimits,
) -> Result<(Map, Vec<UpdateFailure>), Error> {
    let kind: MapKind = ms.kind.parse().map_err(|_| {
        Error::Scenario(ScenarioError::Field {
            field: "map.type".into(),
            what: format!(
                "unknown map type {:?} (hash, array, percpu_hash, percpu_array, lru_hash, lru_percpu_hash, sk_storage)",
                ms.kind
            ),
        })
    })?;
    if kind.is_sk_storage() {
        // Without a socket table: an empty sk_storage map.
        return build_sk_map(ms, ncpus, &SocketTable::default(), limits)?
            .map_err(|e| Error::Scenario(ScenarioError::MapCreate(e.to_string())));
    }
    let name = ms.name.clone().unwrap_or_else(|| "orc_map".to_string());
    if name.len() > 15 {
        return Err(Error::Scenario(ScenarioError::Field {
            field: "map.name".into(),
            what: format!("{name:?} is longer than 15 characters (BPF_OBJ_NAME_LEN - 1)"),
        }));
    }
    let def = MapDef {
        kind,
        key_size: ms.key_size,
        value_size: ms.value_size,
        max_entries: ms.max_entries,
        flags: ms.flags,
        name,
    };
    let mut map = Map::create(def, ncpus, seed, limits)
        .map_err(|e| Error::Scenario(ScenarioError::MapCreate(e.to_string())))?;
    let mut failures = Vec::new();
    let ks = ms.key_size as usize;
    let vs = ms.value_size as usize;
    let apply = |map: &mut Map,
                 key: &[u8],
                 value: &HexValue,
                 flags: u64,
                 field: &str|
     -> Result<Result<(), Errno>, Error> {
        Ok(match value {
            HexValue::One(h) => {
                let v = hex_decode(h, &format!("{field}.value"))?;
                map.update(key, UpdateValue::Same(&v), flags, cpu)
            }
            HexValue::PerCpu(list) => {
                let vals = list
                    .iter()
                    .enumerate()
                    .map(|(c, h)| hex_decode(h, &format!("{field}.value[{c}]")))
                    .collect::<Result<Vec<_>, _>>()?;
                map.update(key, UpdateValue::PerCpu(&vals), flags, cpu)
            }
        })
    };
    match &ms.entries {
        Entries::List(list) => {
            for (i, e) in list.iter().enumerate() {
                let field = format!("map.entries[{i}]");
                let key = hex_decode(&e.key, &format!("{field}.key"))?;
                let flags = parse_flag(e.flags.as_deref(), &format!("{field}.flags"))?;
                if let Err(errno) = apply(&mut map, &key, &e.value, flags, &field)? {
                    failures.push(UpdateFailure {
                        kind: "entry",
                        index: i,
                        errno,
                    });
                }
            }
        }
        Entries::Gen(g) => {
            if g.gen != "seq" {
                return Err(Error::Scenario(ScenarioError::Field {
                    field: "map.entries.gen".into(),
                    what: format!("unknown generator {:?} (only \"seq\")", g.gen),
                }));
            }
            let limit = generator_limit(ms.max_entries);
            if g.count > limit {
                return Err(Error::Scenario(ScenarioError::Field {
                    field: "map.entries.count".into(),
                    what: format!(
                        "{} entries is more than this emulator generates ({limit})",
                        g.count
                    ),
                }));
            }
            let mut percpu = Vec::new();
            for i in 0..g.count {
                let k = g.start.wrapping_add(i.wrapping_mul(g.step));
                let key = le_bytes(k, ks);
                let base = k.wrapping_mul(g.mul).wrapping_add(g.add);
                let r = if kind.is_percpu() {
                    percpu.clear();
                    for c in 0..u64::from(ncpus) {
                        percpu.push(le_bytes(base.wrapping_add(c.wrapping_mul(g.cpu_add)), vs));
                    }
                    map.update(&key, UpdateValue::PerCpu(&percpu), BPF_ANY, cpu)
                } else {
                    map.update(&key, UpdateValue::Same(&le_bytes(base, vs)), BPF_ANY, cpu)
                };
                if let Err(errno) = r {
                    failures.push(UpdateFailure {
                        kind: "entry",
                        index: i as usize,
                        errno,
                    });
                }
            }
        }
    }
    for (i, op) in ms.ops.iter().enumerate() {
        let field = format!("map.ops[{i}]");
        let key = hex_decode(&op.key, &format!("{field}.key"))?;
        let r = match op.op.as_str() {
            "update" => {
                let flags = parse_flag(op.flags.as_deref(), &format!("{field}.flags"))?;
                let Some(value) = &op.value else {
                    return Err(Error::Scenario(ScenarioError::Field {
                        field: format!("{field}.value"),
                        what: "an update needs a value".into(),
                    }));
                };
                apply(&mut map, &key, value, flags, &field)?
            }
            "delete" => map.delete(&key, cpu),
            other => {
                return Err(Error::Scenario(ScenarioError::Field {
                    field: format!("{field}.op"),
                    what: format!("unknown op {other:?} (update, delete)"),
                }))
            }
        };
        if let Err(errno) = r {
            failures.push(UpdateFailure {
                kind: "op",
                index: i,
                errno,
            });
        }
    }
    Ok((map, failures))
}

fn random_seed() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(0x6a09_e667);
    h.finish() as u32
}

/// Loads `object`, builds the world for `sc` and returns a ready machine plus the attach
/// verdict, update failures and effective map.
pub fn prepare(
    sc: &Scenario,
    object: &[u8],
    object_name: &str,
    opts: &RunOptions,
) -> Result<Prepared, Error> {
    prepare_with(sc, object, object_name, opts, false)
}

/// [`prepare`]; with `no_verify` (teaching mode) a program the verifier rejects still gets
/// a machine, set to run on the tracing interpreter, with no attach verdict.
pub(crate) fn prepare_with(
    sc: &Scenario,
    object: &[u8],
    object_name: &str,
    opts: &RunOptions,
    no_verify: bool,
) -> Result<Prepared, Error> {
    let obj = elf::parse(object, object_name)?;
    let prog_idx = obj
        .programs
        .iter()
        .position(|p| is_iter_program(&p.kind))
        .ok_or(Error::Scenario(ScenarioError::NoProgram))?;
    let ncpus = opts.ncpus.max(1);
    let cpu = sc.cpu.min(ncpus - 1);
    let sockets = SocketTable::build(&sc.sockets)?;
    let seed_for = |ms: &MapScenario| {
        if ms.flags & BPF_F_ZERO_SEED != 0 {
            0
        } else {
            sc.hash_seed.or(opts.hash_seed).unwrap_or_else(random_seed)
        }
    };
    let seed = seed_for(&sc.map);
    // A socket scenario's sk_storage map is the iterated map, unless the program is attached
    // to `attach_map`; then the sk_storage map stays aside (only map_after reads it).
    let mut side_map = None;
    let (iter_map, failures) = if sc.is_socket_scenario() {
        let (sk_map, mut failures) = match build_sk_map(&sc.map, ncpus, &sockets, &opts.limits)? {
            Ok(built) => built,
            Err(e) => {
                return Ok(Prepared {
                    machine: None,
                    verdict: Verdict::NotLoaded {
                        map_create: e.errno(),
                    },
                    attach: None,
                    failures: Vec::new(),
                    iter_map_dump: Vec::new(),
                    globals: Vec::new(),
                    sockets: sockets.sockets,
                    side_map: None,
                    sk_values: None,
                })
            }
        };
        match &sc.attach_map {
            Some(am) => {
                let (m, more) = build_map(am, ncpus, cpu, seed_for(am), &opts.limits)?;
                failures.extend(more);
                side_map = Some(sk_map);
                (m, failures)
            }
            None => (sk_map, failures),
        }
    } else {
        build_map(&sc.map, ncpus, cpu, seed, &opts.limits)?
    };
    let mut maps = vec![iter_map];
    for spec in &obj.maps {
        let kind = map_kind_of(spec.map_type).ok_or_else(|| {
            Error::Scenario(ScenarioError::MapCreate(format!(
                "map {:?} in the object has type {}, which this emulator does not model",
                spec.name, spec.map_type
            )))
        })?;
        let def = MapDef {
            kind,
            key_size: spec.key_size,
            value_size: spec.value_size,
            max_entries: spec.max_entries,
            flags: spec.map_flags,
            name: spec.name.clone(),
        };
        let map = if kind.is_sk_storage() {
            Map::create_with_sockets(def, ncpus, &sockets, &opts.limits)
        } else {
            Map::create(def, ncpus, seed, &opts.limits)
        };
        maps.push(map.map_err(|e| Error::Scenario(ScenarioError::MapCreate(e.to_string())))?);
    }
    if let Some(i) = (1..maps.len()).find(|&i| aliases_iter_map(&maps, i)) {
        if maps[i].def().value_size != maps[0].def().value_size {
            return Err(field(
                "map.value_size",
                format!(
                    "the object's sk_storage map {:?} has value_size {}: the iterated map of that name must match",
                    maps[i].def().name,
                    maps[i].def().value_size
                ),
            ));
        }
    }
    let globals_base = maps.len();
    for g in &obj.globals {
        let def = MapDef {
            kind: MapKind::Array,
            key_size: 4,
            value_size: g.data.len().max(1) as u32,
            max_entries: 1,
            flags: if g.readonly {
                BPF_F_MMAPABLE | BPF_F_RDONLY_PROG
            } else {
                BPF_F_MMAPABLE
            },
            name: g.map_name.clone(),
        };
        let mut m = Map::create(def, ncpus, 0, &opts.limits)
            .map_err(|e| Error::Scenario(ScenarioError::MapCreate(e.to_string())))?;
        if !g.data.is_empty() {
            m.update(&[0; 4], UpdateValue::Same(&g.data), BPF_ANY, cpu)
                .map_err(|e| {
                    Error::Scenario(ScenarioError::MapCreate(format!("{}: {e}", g.map_name)))
                })?;
        }
        maps.push(m);
    }
    let mut world = World::new(maps, ncpus, cpu, opts.prandom_seed);
    let prog = &obj.programs[prog_idx];
    let mut patches = Vec::with_capacity(prog.relocs.len());
    for r in &prog.relocs {
        let value = match r.target {
            RelocTarget::Map(i) if aliases_iter_map(&world.maps, 1 + i) => world.model_addr(0),
            RelocTarget::Map(i) => world.model_addr(1 + i),
            RelocTarget::Global { global, offset } => {
                let m = world.maps.get_mut(globals_base + global).ok_or_else(|| {
                    Error::Scenario(ScenarioError::MapCreate(format!(
                        "relocation at instruction {} names global section {global}, which does not exist",
                        r.insn
                    )))
                })?;
                m.lookup_prog(&[0; 4], cpu)
                    .unwrap_or(0)
                    .wrapping_add(offset)
            }
        };
        patches.push(Patch {
            insn: r.insn,
            value,
        });
    }
    // Load: the verifier, as BPF_PROG_LOAD runs it.
    let mut lddw = std::collections::HashMap::new();
    for r in &prog.relocs {
        let target = match r.target {
            RelocTarget::Map(i) => obj.maps.get(i).map(|m| {
                LddwTarget::Map(MapRef {
                    name: m.name.clone(),
                    ks: m.key_size,
                    vs: m.value_size,
                    map_type: m.map_type,
                    max_entries: m.max_entries,
                    readonly: false,
                    frozen: None,
                })
            }),
            RelocTarget::Global { global, offset } => {
                obj.globals.get(global).map(|g| LddwTarget::Value {
                    map: MapRef {
                        name: g.map_name.clone(),
                        ks: 4,
                        vs: g.data.len() as u32,
                        map_type: 2,
                        max_entries: 1,
                        readonly: g.readonly,
                        // libbpf freezes .rodata after load: the verifier reads its constants.
                        frozen: g.readonly.then(|| std::rc::Rc::from(g.data.as_slice())),
                    },
                    off: offset as i64,
                })
            }
        };
        if let Some(t) = target {
            lddw.insert(r.insn, t);
        }
    }
    let env = verifier::Env {
        insns: &prog.insns,
        lddw,
        lines: &prog.line_info,
    };
    let target = match prog.kind {
        ProgramKind::IterBpfSkStorageMap => verifier::IterTarget::SkStorageMap,
        _ => verifier::IterTarget::MapElem,
    };
    let verified = match verifier::verify_target(&env, target) {
        Ok(v) => v,
        Err(rejected) if no_verify => {
            let code = Code::prepare(&prog.insns, &patches)?;
            let mut machine = Machine::new(code, world);
            machine.set_engine(crate::trace::EngineKind::Tracer);
            machine.record = opts.record_calls;
            let globals = obj
                .globals
                .iter()
                .map(|g| (g.section.clone(), g.map_name.clone()))
                .collect();
            return Ok(Prepared {
                machine: Some(machine),
                verdict: Verdict::Rejected(rejected),
                attach: None,
                failures,
                iter_map_dump: Vec::new(),
                globals,
                sockets: sockets.sockets,
                side_map,
                sk_values: None,
            });
        }
        Err(rejected) => {
            let sk_map = side_map.as_ref().unwrap_or(&world.maps[0]);
            let sk_values = sc
                .is_socket_scenario()
                .then(|| socket_values(sk_map, sockets.len()));
            return Ok(Prepared {
                machine: None,
                verdict: Verdict::Rejected(rejected),
                attach: None,
                failures,
                iter_map_dump: world.maps[0].dump(),
                globals: Vec::new(),
                sockets: sockets.sockets,
                side_map,
                sk_values,
            });
        }
    };
    // Attach: BPF_LINK_CREATE's checks, in the kernel's order.
    let iter_def = world.maps[0].def().clone();
    // bpf_iter_attach_map of each target: `bpf_map_elem` refuses an sk_storage map and
    // `bpf_sk_storage_map` every other map, both with EINVAL, before the access check.
    let target_ok = match prog.kind {
        ProgramKind::IterBpfSkStorageMap => iter_def.kind.is_sk_storage(),
        _ => !iter_def.kind.is_sk_storage(),
    };
    let attach = if prog.sleepable || !target_ok {
        format!("failed: {}", Errno::EINVAL)
    } else {
        match verifier::attach_check(
            &verified,
            iter_def.key_size,
            iter_def.value_size,
            iter_def.kind.is_percpu(),
            ncpus,
        ) {
            Ok(()) => "ok".to_string(),
            Err(e) => format!("failed: {e}"),
        }
    };
    let code = Code::prepare(&prog.insns, &patches)?;
    let mut machine = Machine::new(code, world);
    machine.record = opts.record_calls;
    let globals = obj
        .globals
        .iter()
        .map(|g| (g.section.clone(), g.map_name.clone()))
        .collect();
    Ok(Prepared {
        machine: Some(machine),
        verdict: Verdict::Loaded(verified),
        attach: Some(attach),
        failures,
        iter_map_dump: Vec::new(),
        globals,
        sockets: sockets.sockets,
        side_map,
        sk_values: None,
    })
}

/// Whether object map `i` of `maps` is the iterated map (`maps[0]`): an sk_storage map of
/// the object named like the scenario's sk_storage map is that map, as if user space had
/// given the object its fd (`bpf_map__reuse_fd`) and attached the iterator to it, the way
/// the selftests attach to the skeleton's `sk_stg_map`. Its own copy stays empty and
/// unused (and is not reported).
fn aliases_iter_map(maps: &[Map], i: usize) -> bool {
    let (Some(iter), Some(m)) = (maps.first(), maps.get(i)) else {
        return false;
    };
    i > 0
        && iter.def().kind.is_sk_storage()
        && m.def().kind.is_sk_storage()
        && m.def().name == iter.def().name
}

/// Whether a program kind is an iterator this emulator runs.
pub(crate) fn is_iter_program(kind: &ProgramKind) -> bool {
    matches!(
        kind,
        ProgramKind::IterBpfMapElem | ProgramKind::IterBpfSkStorageMap
    )
}

/// Each socket's value in the sk_storage map `map` (`BPF_MAP_LOOKUP_ELEM` by fd, in socket
/// order): `None` for a socket without storage (ENOENT).
pub fn socket_values(map: &Map, nsockets: usize) -> Vec<Option<Vec<u8>>> {
    (0..nsockets).map(|i| map.socket_value(i)).collect()
}

/// The load's outcome.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// The verifier accepted the program.
    Loaded(verifier::Verified),
    /// The verifier rejected it.
    Rejected(Box<verifier::Rejected>),
    /// Nothing was loaded: creating the socket scenario's sk_storage map failed with this
    /// errno (the sk-oracle's `map_create`).
    NotLoaded {
        /// What `BPF_MAP_CREATE` returned.
        map_create: Errno,
    },
}

/// A scenario's machine before any read.
#[derive(Debug)]
pub struct Prepared {
    /// The machine (None when the load was rejected).
    pub machine: Option<Machine>,
    /// The load verdict with the verifier log.
    pub verdict: Verdict,
    /// The attach verdict (`ok` or `failed: ...`; None when the load failed).
    pub attach: Option<String>,
    /// Failed entries and ops.
    pub failures: Vec<UpdateFailure>,
    /// The iterated map's contents when there is no machine.
    pub iter_map_dump: Vec<(Vec<u8>, DumpValue)>,
    /// `(section, map name)` of each global data section; their maps are the machine's last.
    pub globals: Vec<(String, String)>,
    /// The socket scenario's sockets (empty otherwise).
    pub sockets: Vec<Socket>,
    /// The sk_storage map when the program is attached to the scenario's `attach_map`.
    pub side_map: Option<Map>,
    /// Each socket's storage when there is no machine (socket scenarios).
    pub sk_values: Option<Vec<Option<Vec<u8>>>>,
}

/// Runs `sc` with `object` end to end.
pub fn run_scenario(
    sc: &Scenario,
    object: &[u8],
    object_name: &str,
    opts: &RunOptions,
) -> Result<Report, Error> {
    let mut loaded = Loaded::new(sc, object, object_name, opts)?;
    let mut reads = Vec::new();
    let mut calls = Vec::new();
    if let Some(machine) = loaded.runnable() {
        for (i, spec) in sc.reads.iter().enumerate() {
            machine.record = opts.record_calls && i == 0;
            reads.push(run_session(machine, spec.read_size)?);
            if i == 0 {
                calls = machine.take_records();
            }
        }
    }
    Ok(loaded.into_report(reads, calls))
}

/// The load and attach verdicts of a scenario as a [`Report`] states them.
#[derive(Debug, Clone)]
pub(crate) struct LoadSummary {
    /// `ok` or `rejected`.
    pub(crate) load: &'static str,
    /// The verifier's complaint, `""` when loaded.
    pub(crate) verifier_error: String,
    /// strerror of a rejected load.
    pub(crate) load_error: Option<String>,
    /// The verifier's log.
    pub(crate) verifier_log: String,
    /// The attach verdict (None when the load failed).
    pub(crate) attach: Option<String>,
    /// Failed entries and ops.
    pub(crate) failures: Vec<UpdateFailure>,
}

/// A prepared scenario between the load and the reads: the one path [`run_scenario`] and
/// [`crate::live::LiveRun`] share to turn [`prepare`]'s result into a [`Report`].
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) summary: LoadSummary,
    machine: Option<Machine>,
    iter_map_dump: MapDump,
    globals_meta: Vec<(String, String)>,
    map: MapScenario,
    dump_map_after: bool,
    output_summary_only: bool,
    ncpus: u32,
    dump_map_max: u32,
    sockets: Vec<Socket>,
    side_map: Option<Map>,
    sk_values: Option<Vec<Option<Vec<u8>>>>,
    map_create: Option<Errno>,
    socket_scenario: bool,
    attach_map: Option<MapScenario>,
}

impl Loaded {
    /// [`prepare`] plus the verdicts in report form.
    pub(crate) fn new(
        sc: &Scenario,
        object: &[u8],
        object_name: &str,
        opts: &RunOptions,
    ) -> Result<Loaded, Error> {
        let Prepared {
            machine,
            verdict,
            attach,
            failures,
            iter_map_dump,
            globals,
            sockets,
            side_map,
            sk_values,
        } = prepare(sc, object, object_name, opts)?;
        let mut map_create = None;
        let (load, verifier_error, load_error, verifier_log) = match verdict {
            Verdict::NotLoaded { map_create: e } => {
                map_create = Some(e);
                ("", String::new(), None, String::new())
            }
            Verdict::Loaded(v) => ("ok", String::new(), None, v.log.0),
            Verdict::Rejected(r) => (
                "rejected",
                r.error.message,
                Some(r.error.errno.strerror().to_string()),
                r.log.0,
            ),
        };
        Ok(Loaded {
            summary: LoadSummary {
                load,
                verifier_error,
                load_error,
                verifier_log,
                attach,
                failures,
            },
            machine,
            iter_map_dump,
            globals_meta: globals,
            map: sc.map.clone(),
            dump_map_after: sc.dump_map_after,
            output_summary_only: sc.output_summary_only,
            ncpus: opts.ncpus.max(1),
            dump_map_max: opts.dump_map_max,
            sockets,
            side_map,
            sk_values,
            map_create,
            socket_scenario: sc.is_socket_scenario(),
            attach_map: sc.attach_map.clone(),
        })
    }

    /// The machine, when the program loaded and attached (the reads run on it).
    pub(crate) fn runnable(&mut self) -> Option<&mut Machine> {
        if self.summary.attach.as_deref() == Some("ok") {
            self.machine.as_mut()
        } else {
            None
        }
    }

    /// The global data sections as they are now.
    pub(crate) fn globals(&self) -> Vec<GlobalSnapshot> {
        self.machine
            .as_ref()
            .map(|m| global_snapshots(m, &self.globals_meta))
            .unwrap_or_default()
    }

    /// The machine, when the program loaded (attached or not).
    pub(crate) fn machine(&self) -> Option<&Machine> {
        self.machine.as_ref()
    }

    /// The report after `reads` (and the first session's `calls`): the map, trace pipe,
    /// globals and object maps as they are now.
    pub(crate) fn into_report(self, reads: Vec<ReadReport>, calls: Vec<CallRecord>) -> Report {
        let mut sk_map_after = None;
        if self.socket_scenario && self.dump_map_after && self.map_create.is_none() {
            let n = self.sockets.len();
            sk_map_after = match (&self.side_map, &self.machine) {
                (Some(m), _) => Some(socket_values(m, n)),
                (None, Some(machine)) => Some(socket_values(&machine.world().maps[0], n)),
                (None, None) => self.sk_values.clone(),
            };
        }
        let mut map_after = None;
        let mut trace_pipe = Vec::new();
        let mut globals = Vec::new();
        let mut object_maps = Vec::new();
        if let Some(machine) = &self.machine {
            let small = self.map.max_entries <= self.dump_map_max;
            map_after = (self.dump_map_after || small).then(|| machine.world().maps[0].dump());
            trace_pipe = machine.world().trace_pipe.clone();
            globals = global_snapshots(machine, &self.globals_meta);
            object_maps = object_map_dumps(machine, self.globals_meta.len(), self.dump_map_max);
        } else if self.dump_map_after {
            map_after = Some(self.iter_map_dump);
        }
        let engine = self
            .machine
            .as_ref()
            .map_or(crate::trace::EngineKind::Rbpf, Machine::engine);
        let s = self.summary;
        Report {
            engine,
            load: s.load.into(),
            verifier_error: s.verifier_error,
            load_error: s.load_error,
            verifier_log: s.verifier_log,
            attach: s.attach,
            ncpus: self.ncpus,
            map: self.map,
            map_update_failures: s.failures,
            reads,
            map_after,
            calls,
            output_summary_only: self.output_summary_only,
            trace_pipe,
            globals,
            object_maps,
            sockets: self.sockets,
            map_create: self.map_create,
            sk_map_after,
            attach_map: self.attach_map,
            socket_scenario: self.socket_scenario,
        }
    }
}

/// Dumps the object's `.maps` maps (between the iterated map and the `nglobals` global data
/// maps) that have at most `max_entries` entries (0: none).
fn object_map_dumps(
    machine: &Machine,
    nglobals: usize,
    max_entries: u32,
) -> Vec<(String, MapDump)> {
    let maps = &machine.world().maps;
    let end = maps.len().saturating_sub(nglobals);
    (1..end)
        .filter(|&i| !aliases_iter_map(maps, i))
        .filter_map(|i| maps.get(i))
        .filter(|m| max_entries > 0 && m.def().max_entries <= max_entries)
        .map(|m| (m.def().name.clone(), m.dump()))
        .collect()
}

/// Reads the global data maps, which [`prepare`] creates last, one per `(section, map_name)`.
pub(crate) fn global_snapshots(
    machine: &Machine,
    meta: &[(String, String)],
) -> Vec<GlobalSnapshot> {
    let maps = &machine.world().maps;
    let base = maps.len().saturating_sub(meta.len());
    meta.iter()
        .zip(maps.get(base..).unwrap_or_default())
        .map(|((section, map_name), m)| GlobalSnapshot {
            section: section.clone(),
            map_name: map_name.clone(),
            bytes: match m.dump().into_iter().next() {
                Some((_, DumpValue::Single(b))) => b,
                Some((_, DumpValue::PerCpu(mut v))) => v.drain(..).next().unwrap_or_default(),
                None => Vec::new(),
            },
        })
        .collect()
}

/// Opens a session and reads it to EOF or error with `read_size`-byte reads.
pub fn run_session(machine: &mut Machine, read_size: usize) -> Result<ReadReport, Error> {
    let mut run = SessionRun::open(machine, read_size)?;
    let mut unlimited = u64::MAX;
    run.advance(machine, &mut unlimited, |_, _| {})?;
    Ok(run.into_report())
}

/// A read session in progress: read(2)s of `read_size` bytes issued back to back until EOF
/// or a read error, resumable at any program call ([`Machine::read_budgeted`]).
#[derive(Debug)]
pub(crate) struct SessionRun {
    pub(crate) session: Session,
    read_size: usize,
    pub(crate) bytes: Vec<u8>,
    read_error: Option<Errno>,
    pub(crate) finished: bool,
}

impl SessionRun {
    /// Opens a session on `machine`.
    pub(crate) fn open(machine: &mut Machine, read_size: usize) -> Result<SessionRun, Error> {
        if read_size == 0 {
            return Err(Error::Scenario(ScenarioError::Field {
                field: "reads[].read_size".into(),
                what: "must be at least 1".into(),
            }));
        }
        Ok(SessionRun {
            session: machine.open(),
            read_size,
            bytes: Vec::new(),
            read_error: None,
            finished: false,
        })
    }

    /// Issues reads until EOF, a read error, or a read pauses because `budget` program calls
    /// ran (the paused read continues on the next call). `on_read` gets each completed
    /// read's index in the session and its result (length or errno).
    pub(crate) fn advance(
        &mut self,
        machine: &mut Machine,
        budget: &mut u64,
        mut on_read: impl FnMut(u32, Result<usize, Errno>),
    ) -> Result<(), Error> {
        while !self.finished {
            let r = match machine.read_budgeted(
                &mut self.session,
                self.read_size,
                &mut self.bytes,
                budget,
            ) {
                ReadStep::Paused => return Ok(()),
                ReadStep::Done(r) => r,
            };
            let index = self.session.reads.saturating_sub(1);
            match r {
                Ok(n) => {
                    on_read(index, Ok(n));
                    self.finished = n == 0;
                }
                Err(ReadError::Errno(e)) => {
                    on_read(index, Err(e));
                    self.read_error = Some(e);
                    self.finished = true;
                }
                Err(e @ ReadError::Run { .. }) => return Err(Error::Read(e)),
            }
        }
        Ok(())
    }

    /// The session's result.
    pub(crate) fn into_report(self) -> ReadReport {
        ReadReport {
            read_size: self.read_size,
            bytes: self.bytes,
            read_calls: self.session.read_calls,
            read_error: self.read_error,
            prog_calls: self.session.calls,
        }
    }
}

fn text_fields(bytes: &[u8], summary: bool, obj: &mut serde_json::Map<String, Value>) {
    let text = String::from_utf8_lossy(bytes);
    if summary {
        obj.insert("text".into(), Value::Null);
        let digest = Sha256::digest(bytes);
        obj.insert("sha256".into(), json!(hex_encode(&digest)));
        let parts: Vec<&str> = text.split('\n').collect();
        obj.insert("head".into(), json!(parts[..parts.len().min(5)].join("\n")));
        obj.insert(
            "tail".into(),
            json!(parts[parts.len().saturating_sub(5)..].join("\n")),
        );
        obj.insert("lines".into(), json!(text.lines().count()));
    } else {
        obj.insert("text".into(), json!(text));
        if std::str::from_utf8(bytes).is_err() {
            obj.insert("hex".into(), json!(hex_encode(bytes)));
        }
    }
}

fn dump_value_json(v: &DumpValue) -> Value {
    match v {
        DumpValue::Single(b) => json!(hex_encode(b)),
        DumpValue::PerCpu(list) => {
            Value::Array(list.iter().map(|b| json!(hex_encode(b))).collect())
        }
    }
}

impl Report {
    fn sockets_json(&self) -> Value {
        Value::Array(self.sockets.iter().map(Socket::to_json).collect())
    }

    /// Bytes of the first read session.
    pub fn output(&self) -> &[u8] {
        self.reads.first().map_or(&[], |r| r.bytes.as_slice())
    }

    /// The oracle's JSON shape.
    pub fn to_json(&self) -> Value {
        let mut o = serde_json::Map::new();
        if let Some(e) = self.map_create {
            // The sk-oracle stops after a failed BPF_MAP_CREATE: nothing was loaded.
            o.insert("load".into(), Value::Null);
            o.insert("verifier_log".into(), json!(""));
            o.insert("verifier_error".into(), json!(""));
            o.insert("attach".into(), Value::Null);
            o.insert("output".into(), Value::Null);
            o.insert("ncpus".into(), json!(self.ncpus));
            o.insert("sockets".into(), self.sockets_json());
            o.insert("map_create".into(), json!(format!("failed: {e}")));
            return Value::Object(o);
        }
        o.insert("load".into(), json!(self.load));
        o.insert("verifier_log".into(), json!(self.verifier_log));
        o.insert("verifier_error".into(), json!(self.verifier_error));
        if let Some(e) = &self.load_error {
            o.insert("load_error".into(), json!(e));
        }
        o.insert("attach".into(), json!(self.attach));
        if self.output_summary_only {
            o.insert("output".into(), Value::Null);
        } else if let Some(first) = self.reads.first() {
            o.insert(
                "output".into(),
                json!(String::from_utf8_lossy(&first.bytes)),
            );
            if std::str::from_utf8(&first.bytes).is_err() {
                o.insert("output_hex".into(), json!(hex_encode(&first.bytes)));
            }
        }
        o.insert("ncpus".into(), json!(self.ncpus));
        o.insert("engine".into(), json!(self.engine.as_str()));
        let mut m = json!({
            "type": self.map.kind, "key_size": self.map.key_size,
            "value_size": self.map.value_size, "max_entries": self.map.max_entries,
        });
        if self.map.flags != 0 {
            m["flags"] = json!(self.map.flags);
        }
        if let Some(n) = &self.map.name {
            m["name"] = json!(n);
        }
        if self.socket_scenario {
            m["flags"] = json!(self.map.flags);
            m["name"] = json!(self.map.name.as_deref().unwrap_or("orc_sk_map"));
            o.insert("sockets".into(), self.sockets_json());
            if let Some(am) = &self.attach_map {
                o.insert(
                    "attach_map".into(),
                    serde_json::to_value(am).unwrap_or(Value::Null),
                );
            }
        }
        o.insert("map".into(), m);
        if !self.map_update_failures.is_empty() {
            o.insert(
                "map_update_failures".into(),
                Value::Array(
                    self.map_update_failures
                        .iter()
                        .map(|f| json!({ f.kind: f.index, "error": f.errno.describe() }))
                        .collect(),
                ),
            );
        }
        let reads = self
            .reads
            .iter()
            .map(|r| {
                let mut ro = serde_json::Map::new();
                ro.insert("read_size".into(), json!(r.read_size));
                text_fields(&r.bytes, self.output_summary_only, &mut ro);
                ro.insert("len".into(), json!(r.bytes.len()));
                ro.insert("read_calls".into(), json!(r.read_calls));
                if let Some(e) = r.read_error {
                    ro.insert("read_error".into(), json!(e.describe()));
                }
                ro.insert("prog_calls".into(), json!(r.prog_calls));
                Value::Object(ro)
            })
            .collect();
        o.insert("reads".into(), Value::Array(reads));
        if let Some(after) = &self.sk_map_after {
            let per_socket = after
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Some(v) => json!({"socket": i, "value": hex_encode(v)}),
                    None => json!({"socket": i, "value": null, "error": Errno::ENOENT.describe()}),
                })
                .collect();
            o.insert("map_after".into(), Value::Array(per_socket));
        } else if let Some(after) = &self.map_after {
            o.insert(
                "map_after".into(),
                Value::Array(
                    after
                        .iter()
                        .map(|(k, v)| json!({"key": hex_encode(k), "value": dump_value_json(v)}))
                        .collect(),
                ),
            );
        }
        if !self.trace_pipe.is_empty() {
            o.insert(
                "trace_pipe".into(),
                json!(String::from_utf8_lossy(&self.trace_pipe)),
            );
        }
        Value::Object(o)
    }
}

/// The BTF view of an object needed to decode a [`Report`]: its types and the variable
/// layout of its global data sections.
#[derive(Debug, Clone)]
pub struct ObjectTypes {
    /// The object's `.BTF`.
    pub btf: Btf,
    /// Variables of each global data section.
    pub layouts: Vec<SectionLayout>,
    /// The iterator program, whose source lines may name the iterated map's types.
    pub program: Option<elf::Program>,
}

impl ObjectTypes {
    /// Reads the BTF and global layouts of `object`; `None` when it has no `.BTF`.
    ///
    /// # Errors
    ///
    /// [`Error::Elf`] when the object cannot be parsed.
    pub fn load(object: &[u8], object_name: &str) -> Result<Option<ObjectTypes>, Error> {
        let obj = elf::parse(object, object_name)?;
        let Some(btf) = obj.btf else {
            return Ok(None);
        };
        let layouts = typed::global_layouts(object, &btf)?;
        let program = obj.programs.into_iter().find(|p| is_iter_program(&p.kind));
        Ok(Some(ObjectTypes {
            btf,
            layouts,
            program,
        }))
    }
}

/// A decoded key or value: the typed value, or the hex bytes and why they are not decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// Decoded by its BTF type.
    Typed(TypedValue),
    /// No type known, or decoding failed (`error` says why).
    Raw {
        /// The bytes.
        bytes: Vec<u8>,
        /// Why the bytes are not decoded (`None`: no type known).
        error: Option<String>,
    },
}

impl Decoded {
    fn new(btf: &Btf, ty: Option<u32>, bytes: &[u8]) -> Decoded {
        match ty.map(|t| typed::decode(btf, t, bytes)) {
            Some(Ok(v)) => Decoded::Typed(v),
            Some(Err(e)) => Decoded::Raw {
                bytes: bytes.to_vec(),
                error: Some(e.to_string()),
            },
            None => Decoded::Raw {
                bytes: bytes.to_vec(),
                error: None,
            },
        }
    }

    /// JSON: the typed value's structured form, `"<hex>"` when no type is known, or
    /// `{"hex": "..", "error": ".."}` when decoding failed.
    pub fn to_json(&self) -> Value {
        match self {
            Decoded::Typed(v) => v.to_json(),
            Decoded::Raw { bytes, error: None } => json!(hex_encode(bytes)),
            Decoded::Raw {
                bytes,
                error: Some(e),
            } => json!({"hex": hex_encode(bytes), "error": e}),
        }
    }
}

impl std::fmt::Display for Decoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Decoded::Typed(v) => write!(f, "{v}"),
            Decoded::Raw { bytes, error: None } => write!(f, "{}", hex_encode(bytes)),
            Decoded::Raw {
                bytes,
                error: Some(e),
            } if bytes.is_empty() => write!(f, "<{e}>"),
            Decoded::Raw {
                bytes,
                error: Some(e),
            } => write!(f, "{} ({e})", hex_encode(bytes)),
        }
    }
}

/// Globals and the map after a run, decoded by BTF type ([`decode_report`]).
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedReport {
    /// Per global data map (`prog.bss`): each variable's name and value, by offset.
    pub globals: Vec<(String, Vec<(String, Decoded)>)>,
    /// The iterated map after the run: key, then one value (or one per CPU).
    pub map_after: Option<Vec<DecodedEntry>>,
    /// The object's `.maps` maps in [`Report::object_maps`], decoded by their BTF types.
    pub object_maps: Vec<(String, Vec<DecodedEntry>)>,
    /// The map's key and value types are both unknown (the map is shown in hex).
    pub map_untyped: bool,
    /// Problems with the scenario's `key_type` / `value_type`.
    pub warnings: Vec<String>,
    /// Where inferred key and value types come from.
    pub notes: Vec<String>,
}

/// Decodes `report`'s globals by variable and its `map_after` by the scenario's `key_type`
/// and `value_type` (names of BTF types of the object), or else by the types the program's
/// source lines declare for `ctx->key` / `ctx->value` ([`typed::infer_iter_types`]).
pub fn decode_report(report: &Report, types: &ObjectTypes) -> DecodedReport {
    let btf = &types.btf;
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    let (inf_key, inf_value) = types.program.as_ref().map_or((None, None), |p| {
        typed::infer_iter_types(btf, p, report.map.key_size, report.map.value_size)
    });
    let mut resolve = |field: &str,
                       name: &Option<String>,
                       inferred: Option<typed::InferredType>| {
        match (name.as_deref(), inferred) {
            (Some(name), _) => typed::find_type(btf, name)
                .map_err(|e| warnings.push(format!("map.{field}: {e}")))
                .ok(),
            (None, Some(inf)) => {
                notes.push(format!(
                    "map.{field} `{}` from the source line `{}`",
                    typed::type_name(btf, inf.type_id),
                    inf.source
                ));
                Some(inf.type_id)
            }
            (None, None) => None,
        }
    };
    let key_ty = resolve("key_type", &report.map.key_type, inf_key);
    let value_ty = resolve("value_type", &report.map.value_type, inf_value);
    let globals = report
        .globals
        .iter()
        .filter_map(|g| {
            let layout = types.layouts.iter().find(|l| l.section == g.section)?;
            let vars = typed::decode_globals(btf, layout, &g.bytes)
                .into_iter()
                .map(|(name, r)| {
                    let d = match r {
                        Ok(v) => Decoded::Typed(v),
                        Err(e) => Decoded::Raw {
                            bytes: Vec::new(),
                            error: Some(e.to_string()),
                        },
                    };
                    (name, d)
                })
                .collect();
            Some((g.map_name.clone(), vars))
        })
        .collect();
    let map_after = report
        .map_after
        .as_ref()
        .map(|entries| decode_entries(btf, key_ty, value_ty, entries));
    let object_maps = report
        .object_maps
        .iter()
        .map(|(name, entries)| {
            let t = typed::map_types(btf, name);
            let (k, v) = t.map_or((None, None), |t| (t.key, t.value));
            (name.clone(), decode_entries(btf, k, v, entries))
        })
        .collect();
    DecodedReport {
        globals,
        map_after,
        object_maps,
        map_untyped: key_ty.is_none() && value_ty.is_none(),
        warnings,
        notes,
    }
}

/// One decoded map entry: the key, then one value (or one per CPU).
pub type DecodedEntry = (Decoded, Vec<Decoded>);

fn decode_entries(
    btf: &Btf,
    key_ty: Option<u32>,
    value_ty: Option<u32>,
    entries: &[(Vec<u8>, DumpValue)],
) -> Vec<DecodedEntry> {
    entries
        .iter()
        .map(|(k, v)| {
            let values = match v {
                DumpValue::Single(b) => vec![Decoded::new(btf, value_ty, b)],
                DumpValue::PerCpu(list) => list
                    .iter()
                    .map(|b| Decoded::new(btf, value_ty, b))
                    .collect(),
            };
            (Decoded::new(btf, key_ty, k), values)
        })
        .collect()
}

fn entries_json(entries: &[DecodedEntry]) -> Value {
    Value::Array(
        entries
            .iter()
            .map(|(k, vs)| {
                let value = match vs.as_slice() {
                    [one] => one.to_json(),
                    many => Value::Array(many.iter().map(Decoded::to_json).collect()),
                };
                json!({"key": k.to_json(), "value": value})
            })
            .collect(),
    )
}

fn entries_text(out: &mut String, title: &str, entries: &[DecodedEntry]) {
    use std::fmt::Write;
    let _ = writeln!(out, "{title} ({} entries):", entries.len());
    for (k, vs) in entries {
        match vs.as_slice() {
            [one] => {
                let _ = writeln!(out, "  {k} => {one}");
            }
            many => {
                let cpus: Vec<String> = many
                    .iter()
                    .enumerate()
                    .map(|(c, v)| format!("cpu{c}={v}"))
                    .collect();
                let _ = writeln!(out, "  {k} => {}", cpus.join(" "));
            }
        }
    }
}

impl DecodedReport {
    /// JSON fields to add to [`Report::to_json`]: `"globals"` (`{"prog.bss": {"tot_x": 12}}`),
    /// when a key or value type is known `"map_after_decoded"`
    /// (`[{"key": {..}, "value": 600}]`, `"value"` a list for per-CPU maps),
    /// `"object_maps_decoded"` (`{"hist": [..]}`) for dumped `.maps` maps; also
    /// `"decode_warnings"` and `"decode_notes"` (inferred types) when there are any.
    pub fn json_fields(&self) -> serde_json::Map<String, Value> {
        let mut o = serde_json::Map::new();
        let globals = self
            .globals
            .iter()
            .map(|(map, vars)| {
                let vars = vars.iter().map(|(n, d)| (n.clone(), d.to_json())).collect();
                (map.clone(), Value::Object(vars))
            })
            .collect();
        o.insert("globals".into(), Value::Object(globals));
        if let (Some(entries), false) = (&self.map_after, self.map_untyped) {
            o.insert("map_after_decoded".into(), entries_json(entries));
        }
        if !self.object_maps.is_empty() {
            let maps = self
                .object_maps
                .iter()
                .map(|(name, entries)| (name.clone(), entries_json(entries)))
                .collect();
            o.insert("object_maps_decoded".into(), Value::Object(maps));
        }
        if !self.warnings.is_empty() {
            o.insert("decode_warnings".into(), json!(self.warnings));
        }
        if !self.notes.is_empty() {
            o.insert("decode_notes".into(), json!(self.notes));
        }
        o
    }

    /// Human-readable text: the map (`key => value`, per-CPU values as `cpu0=.. cpu1=..`)
    /// then the globals (`prog.bss: tot_x = 12`).
    pub fn to_text(&self, map_name: &str) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        for w in &self.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
        for n in &self.notes {
            let _ = writeln!(out, "note: {n}");
        }
        if let Some(entries) = &self.map_after {
            entries_text(&mut out, &format!("map {map_name} after the run"), entries);
        }
        for (name, entries) in &self.object_maps {
            entries_text(&mut out, &format!("map {name} (.maps)"), entries);
        }
        for (map, vars) in &self.globals {
            let _ = writeln!(out, "{map}:");
            for (name, v) in vars {
                let _ = writeln!(out, "  {name} = {v}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_oracle_shape() {
        let sc = Scenario::from_json(
            r#"{"program":"p.o","map":{"type":"percpu_hash","key_size":4,"value_size":8,
            "max_entries":4,"entries":[{"key":"01000000","value":["01","02"]},
            {"key":"02000000","value":"0300000000000000","flags":"noexist"}],
            "ops":[{"op":"delete","key":"01000000"}]},"reads":[{"read_size":10},{}]}"#,
        )
        .unwrap();
        assert_eq!(sc.reads[1].read_size, 4096);
        assert!(matches!(sc.map.entries, Entries::List(ref l) if l.len() == 2));
        let g = Scenario::from_json(
            r#"{"program":"p.o","map":{"type":"hash","key_size":4,"value_size":8,
            "max_entries":4,"entries":{"gen":"seq","count":3,"add":5}}}"#,
        )
        .unwrap();
        assert!(matches!(
            g.map.entries,
            Entries::Gen(Generator {
                step: 1,
                mul: 1,
                add: 5,
                ..
            })
        ));
    }

    #[test]
    fn bad_input_names_the_field() {
        assert!(matches!(
            Scenario::from_json("{\"program\": 3}"),
            Err(Error::Scenario(ScenarioError::Json(_)))
        ));
        match hex_decode("0x12", "map.entries[0].key") {
            Err(ScenarioError::Field { field, .. }) => assert_eq!(field, "map.entries[0].key"),
            other => panic!("{other:?}"),
        }
        assert!(hex_decode("abc", "k").is_err());
        assert_eq!(hex_decode("0aFF", "k").unwrap(), vec![10, 255]);
    }
}
