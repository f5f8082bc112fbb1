//! The map editor: the iterated map of a scenario ([`MapScenario`]) as a form — type, sizes,
//! `max_entries`, flags — and its entries, either an explicit table or a `seq` generator.
//!
//! Keys and values are hex by default (spaces allowed). Array maps take their keys as
//! indices. Per-CPU maps take one value for all CPUs or one per CPU, as [`HexValue`] does.
//! With BTF field layouts ([`FieldLeaf`]s from `typed::leaves`) keys and values are edited as
//! one decimal input per integer field, encoded little-endian into the scenario's hex.
//! Text that does not parse (bad hex, a wrong length, a number out of range) stays in its box
//! with an error naming the entry and field, and nothing is emitted until it parses; the
//! drafts live in this component's state. Long lists are paged ([`PAGE_ROWS`] rows), and a
//! generator only shows its formula and a preview of its first entries. The map itself is
//! checked with the emulator's own `BPF_MAP_CREATE` rules ([`MapDef::check`]).
//!
//! Not here: `ops` (kept as they are, not edited), per-entry update flags (kept), typed
//! editing of bitfields and of generator output, and any call into the emulator beyond
//! those pure checks.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::rc::Rc;

use iterscope_emulator::elf::typed::{self, FieldLeaf, TypedError};
use iterscope_emulator::maps::{MapDef, MapError, MapKind, BPF_F_NO_COMMON_LRU, BPF_F_ZERO_SEED};
use iterscope_emulator::scenario::{
    generator_limit, Entries, Entry, Generator, HexValue, MapScenario,
};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::hex;

/// Entries shown per page of the explicit list.
pub const PAGE_ROWS: usize = 100;
/// The largest generator "Expand into entries" turns into an explicit list.
pub const EXPAND_LIMIT: u64 = 10_000;
/// Generated entries previewed.
const PREVIEW_ROWS: u64 = 5;
/// Longest map name (`BPF_OBJ_NAME_LEN - 1`), as `scenario::build_map` checks.
const MAX_NAME: usize = 15;
/// The map types the editor offers, in the emulator's spelling.
const KINDS: [MapKind; 6] = [
    MapKind::Hash,
    MapKind::Array,
    MapKind::PercpuHash,
    MapKind::PercpuArray,
    MapKind::LruHash,
    MapKind::LruPercpuHash,
];

// ---------------------------------------------------------------------------------------
// Pure parts: parsing, validation, generation.

/// Why the text of a key, value or field cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CellError {
    /// A character that is neither a hex digit nor white space (`at` counts characters).
    NotHex {
        /// Character index in the text.
        at: usize,
        /// The character.
        ch: char,
    },
    /// An odd number of hex digits.
    OddDigits {
        /// How many digits there are.
        digits: usize,
    },
    /// The bytes do not match the map's key or value size.
    Length {
        /// Bytes given.
        got: usize,
        /// Bytes the map wants.
        want: usize,
        /// `key` or `value`.
        noun: &'static str,
    },
    /// Not a (decimal or `0x`) number.
    NotNumber {
        /// The text.
        text: String,
    },
    /// An array index outside `0..max_entries` (the update fails with `E2BIG`; shown, not
    /// refused, so such cases can be written on purpose).
    IndexPastEnd {
        /// The index.
        index: u32,
        /// The map's `max_entries`.
        max_entries: u32,
    },
    /// A field value that does not fit its field.
    Field(TypedError),
}

impl fmt::Display for CellError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CellError::NotHex { at, ch } => {
                write!(f, "{ch:?} at character {} is not a hex digit", at + 1)
            }
            CellError::OddDigits { digits } => write!(f, "odd number of hex digits ({digits})"),
            CellError::Length { got, want, noun } => {
                let s = if *got == 1 { "" } else { "s" };
                write!(f, "{got} byte{s}, the {noun} is {want}")
            }
            CellError::NotNumber { text } => write!(f, "{text:?} is not a number"),
            CellError::IndexPastEnd { index, max_entries } => write!(
                f,
                "index {index} is past max_entries {max_entries} (the update fails with E2BIG)"
            ),
            CellError::Field(TypedError::OutOfRange { value, ty, .. }) => {
                write!(f, "{value} does not fit {ty}")
            }
            CellError::Field(e) => write!(f, "{e}"),
        }
    }
}

impl CellError {
    /// Whether the text is still emitted (a warning) rather than held back.
    fn is_warning(&self) -> bool {
        matches!(self, CellError::IndexPastEnd { .. })
    }
}

/// Bytes of hex `text`; white space between digits is ignored.
///
/// # Errors
///
/// [`CellError::NotHex`] or [`CellError::OddDigits`].
pub fn parse_hex(text: &str) -> Result<Vec<u8>, CellError> {
    let mut out = Vec::with_capacity(text.len() / 2);
    let mut high: Option<u8> = None;
    let mut digits = 0;
    for (at, ch) in text.chars().enumerate() {
        if ch.is_whitespace() {
            continue;
        }
        let d = ch
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
            .ok_or(CellError::NotHex { at, ch })?;
        digits += 1;
        match high.take() {
            Some(h) => out.push(h << 4 | d),
            None => high = Some(d),
        }
    }
    if high.is_some() {
        return Err(CellError::OddDigits { digits });
    }
    Ok(out)
}

/// Bytes of hex `text` that must be exactly `want` bytes long.
///
/// # Errors
///
/// As [`parse_hex`], or [`CellError::Length`] naming `noun`.
pub fn check_bytes(text: &str, want: usize, noun: &'static str) -> Result<Vec<u8>, CellError> {
    let bytes = parse_hex(text)?;
    if bytes.len() != want {
        return Err(CellError::Length {
            got: bytes.len(),
            want,
            noun,
        });
    }
    Ok(bytes)
}

/// A decimal or `0x` hex integer, optionally negative, surrounding white space ignored.
pub fn parse_number(text: &str) -> Option<i128> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let v = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => i128::from_str_radix(h, 16).ok()?,
        None if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => t.parse().ok()?,
        None => return None,
    };
    Some(if neg { -v } else { v })
}

fn parse_u64(text: &str) -> Result<u64, CellError> {
    parse_number(text)
        .and_then(|v| u64::try_from(v).ok())
        .ok_or_else(|| CellError::NotNumber {
            text: text.to_string(),
        })
}

fn parse_u32(text: &str) -> Result<u32, CellError> {
    parse_number(text)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| CellError::NotNumber {
            text: text.to_string(),
        })
}

/// `v` little-endian in `size` bytes (truncated or zero-extended), as the generator does.
fn le_bytes(v: u64, size: usize) -> Vec<u8> {
    let mut out = vec![0u8; size];
    let n = size.min(8);
    out[..n].copy_from_slice(&v.to_le_bytes()[..n]);
    out
}

/// The map's type, when it is one the emulator knows.
fn kind_of(map: &MapScenario) -> Option<MapKind> {
    map.kind.parse().ok()
}

/// The problems of the map's own fields, each naming the field (`map.key_size: ...`), by
/// the emulator's `BPF_MAP_CREATE` rules.
pub fn spec_errors(map: &MapScenario, ncpus: u32) -> Vec<String> {
    let mut out = Vec::new();
    let name = map.name.clone().unwrap_or_else(|| "orc_map".to_string());
    if name.len() > MAX_NAME {
        out.push(format!(
            "map.name: {name:?} is longer than {MAX_NAME} characters"
        ));
    }
    let Some(kind) = kind_of(map) else {
        out.push(format!("map.type: unknown map type {:?}", map.kind));
        return out;
    };
    let def = MapDef {
        kind,
        key_size: map.key_size,
        value_size: map.value_size,
        max_entries: map.max_entries,
        flags: map.flags,
        name,
    };
    if let Err(e) = def.check(ncpus.max(1)) {
        out.push(describe_map_error(&e));
    }
    if let Entries::Gen(g) = &map.entries {
        let limit = generator_limit(map.max_entries);
        if g.count > limit {
            out.push(format!(
                "map.entries.count: {} entries is more than the emulator generates ({limit})",
                g.count
            ));
        }
    }
    out
}

/// A [`MapError`] as `map.FIELD: what`.
fn describe_map_error(e: &MapError) -> String {
    match e {
        MapError::Zero { field, .. } => format!("map.{field}: must not be 0"),
        MapError::ArrayKeySize { key_size, .. } => {
            format!("map.key_size: must be 4 for an array (a u32 index), not {key_size}")
        }
        MapError::Flags {
            flags,
            kind,
            reason,
            ..
        } => format!("map.flags: {flags:#x} is not valid for {kind}: {reason}"),
        MapError::LruNoPrealloc { kind, .. } => {
            format!("map.flags: {kind} does not support BPF_F_NO_PREALLOC")
        }
        MapError::TooBig {
            field,
            value,
            limit,
            ..
        } => {
            let field = if field.contains('+') {
                "key_size + map.value_size"
            } else {
                field
            };
            format!("map.{field}: {value} is too big (limit {limit})")
        }
        other => format!("map: {other}"),
    }
}

/// The first `n` entries of generator `g`: key hex and value hex (one per CPU for per-CPU
/// maps when `cpu_add` is not 0), computed as `scenario::build_map` does.
pub fn generated(g: &Generator, map: &MapScenario, ncpus: u32, n: u64) -> Vec<Entry> {
    let ks = map.key_size as usize;
    let vs = map.value_size as usize;
    let percpu = kind_of(map).is_some_and(MapKind::is_percpu) && g.cpu_add != 0;
    (0..g.count.min(n))
        .map(|i| {
            let k = g.start.wrapping_add(i.wrapping_mul(g.step));
            let base = k.wrapping_mul(g.mul).wrapping_add(g.add);
            let value = if percpu {
                HexValue::PerCpu(
                    (0..u64::from(ncpus.max(1)))
                        .map(|c| hex(&le_bytes(base.wrapping_add(c.wrapping_mul(g.cpu_add)), vs)))
                        .collect(),
                )
            } else {
                HexValue::One(hex(&le_bytes(base, vs)))
            };
            Entry {
                key: hex(&le_bytes(k, ks)),
                value,
                flags: None,
            }
        })
        .collect()
}

/// A key for a new entry: the smallest index (arrays) or little-endian number not in use.
pub fn next_free_key(map: &MapScenario, list: &[Entry]) -> Vec<u8> {
    let used: HashSet<Vec<u8>> = list.iter().filter_map(|e| parse_hex(&e.key).ok()).collect();
    let size = map.key_size as usize;
    (0..=list.len() as u64)
        .map(|i| le_bytes(i, size))
        .find(|k| !used.contains(k))
        .unwrap_or_else(|| vec![0; size])
}

/// Where a key or value lives in an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    Key,
    /// `None`: the single value; `Some(cpu)`: that CPU's value.
    Value(Option<usize>),
}

impl Slot {
    fn noun(self) -> &'static str {
        match self {
            Slot::Key => "key",
            Slot::Value(_) => "value",
        }
    }

    fn place(self, row: usize) -> String {
        match self {
            Slot::Key => format!("entry {row} key"),
            Slot::Value(None) => format!("entry {row} value"),
            Slot::Value(Some(c)) => format!("entry {row} value (cpu {c})"),
        }
    }
}

/// The stored hex of `slot` in `entry` (`""` for a CPU past the list).
fn stored(entry: &Entry, slot: Slot) -> &str {
    match (slot, &entry.value) {
        (Slot::Key, _) => &entry.key,
        (Slot::Value(_), HexValue::One(h)) => h,
        (Slot::Value(Some(c)), HexValue::PerCpu(l)) => l.get(c).map_or("", String::as_str),
        (Slot::Value(None), HexValue::PerCpu(l)) => l.first().map_or("", String::as_str),
    }
}

/// `entry` with `slot` set to `hex` (a CPU past the per-CPU list extends it with zeros).
fn with_cell(entry: &Entry, slot: Slot, value: String, vs: usize) -> Entry {
    let mut e = entry.clone();
    match slot {
        Slot::Key => e.key = value,
        Slot::Value(None) => e.value = HexValue::One(value),
        Slot::Value(Some(c)) => {
            let mut list = match &e.value {
                HexValue::PerCpu(l) => l.clone(),
                HexValue::One(h) => vec![h.clone()],
            };
            while list.len() <= c {
                list.push(hex(&vec![0; vs]));
            }
            list[c] = value;
            e.value = HexValue::PerCpu(list);
        }
    }
    e
}

/// Leaves usable for `size` bytes: all inside it.
fn usable(fields: Option<&Rc<[FieldLeaf]>>, size: u32) -> Option<Rc<[FieldLeaf]>> {
    let f = fields?;
    (!f.is_empty() && f.iter().all(|l| l.offset.saturating_add(l.size) <= size)).then(|| f.clone())
}

// ---------------------------------------------------------------------------------------
// The component.

/// Props of [`MapEditor`].
#[derive(Debug, Properties, PartialEq)]
pub struct MapEditorProps {
    /// The map being edited.
    pub map: Rc<MapScenario>,
    /// Emulated CPU count (columns of per-CPU values).
    pub ncpus: u32,
    /// Called with the whole new map after every edit that parses.
    pub on_change: Callback<MapScenario>,
    /// BTF layout of the key, if known (edited as fields).
    #[prop_or_default]
    pub key_fields: Option<Rc<[FieldLeaf]>>,
    /// BTF layout of the value, if known (edited as fields).
    #[prop_or_default]
    pub value_fields: Option<Rc<[FieldLeaf]>>,
}

/// What a draft text belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum DraftKey {
    /// A numeric map field.
    Spec(SpecField),
    /// A generator field.
    Gen(GenField),
    /// A key or value of an entry, or one field of it.
    Cell {
        row: usize,
        slot: Slot,
        leaf: Option<usize>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum SpecField {
    KeySize,
    ValueSize,
    MaxEntries,
    Flags,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum GenField {
    Count,
    Start,
    Step,
    Mul,
    Add,
    CpuAdd,
}

impl GenField {
    const ALL: [GenField; 6] = [
        GenField::Count,
        GenField::Start,
        GenField::Step,
        GenField::Mul,
        GenField::Add,
        GenField::CpuAdd,
    ];

    fn name(self) -> &'static str {
        match self {
            GenField::Count => "count",
            GenField::Start => "start",
            GenField::Step => "step",
            GenField::Mul => "mul",
            GenField::Add => "add",
            GenField::CpuAdd => "cpu_add",
        }
    }

    fn get(self, g: &Generator) -> u64 {
        match self {
            GenField::Count => g.count,
            GenField::Start => g.start,
            GenField::Step => g.step,
            GenField::Mul => g.mul,
            GenField::Add => g.add,
            GenField::CpuAdd => g.cpu_add,
        }
    }

    fn set(self, g: &mut Generator, v: u64) {
        match self {
            GenField::Count => g.count = v,
            GenField::Start => g.start = v,
            GenField::Step => g.step = v,
            GenField::Mul => g.mul = v,
            GenField::Add => g.add = v,
            GenField::CpuAdd => g.cpu_add = v,
        }
    }
}

/// Mutable state shared by the callbacks of one render.
#[derive(Debug, Default)]
struct Local {
    /// Text typed into inputs, kept while it does not parse (and while it is being typed).
    drafts: BTreeMap<DraftKey, String>,
    /// The last map emitted, to tell our own edits coming back from outside changes.
    emitted: Option<MapScenario>,
    /// The map the drafts belong to.
    seen: Option<Rc<MapScenario>>,
    /// The explicit list set aside while the generator is on.
    stash: Option<Vec<Entry>>,
}

/// Everything a piece of the form needs to render and to emit.
#[derive(Clone)]
struct Ctx {
    map: Rc<MapScenario>,
    ncpus: u32,
    local: Rc<RefCell<Local>>,
    redraw: Callback<()>,
    on_change: Callback<MapScenario>,
}

impl Ctx {
    fn draft(&self, key: DraftKey) -> Option<String> {
        self.local.borrow().drafts.get(&key).cloned()
    }

    fn set_draft(&self, key: DraftKey, text: String) {
        self.local.borrow_mut().drafts.insert(key, text);
    }

    fn drop_draft(&self, key: DraftKey) {
        self.local.borrow_mut().drafts.remove(&key);
        self.redraw.emit(());
    }

    fn emit(&self, map: MapScenario) {
        self.local.borrow_mut().emitted = Some(map.clone());
        self.on_change.emit(map);
    }

    fn list(&self) -> &[Entry] {
        match &self.map.entries {
            Entries::List(l) => l,
            Entries::Gen(_) => &[],
        }
    }

    fn with_entries(&self, entries: Entries) -> MapScenario {
        MapScenario {
            entries,
            ..(*self.map).clone()
        }
    }

    fn size(&self, slot: Slot) -> usize {
        match slot {
            Slot::Key => self.map.key_size as usize,
            Slot::Value(_) => self.map.value_size as usize,
        }
    }

    /// Sets one cell of one entry and emits.
    fn set_cell(&self, row: usize, slot: Slot, value: String) {
        let mut list = self.list().to_vec();
        if let Some(e) = list.get(row) {
            list[row] = with_cell(e, slot, value, self.map.value_size as usize);
            self.emit(self.with_entries(Entries::List(list)));
        }
    }

    /// The bytes the fields of a cell are decoded from: the stored hex, resized to the
    /// map's size (zeros when it does not parse).
    fn cell_bytes(&self, row: usize, slot: Slot) -> Vec<u8> {
        let mut b = self
            .list()
            .get(row)
            .and_then(|e| parse_hex(stored(e, slot)).ok())
            .unwrap_or_default();
        b.resize(self.size(slot), 0);
        b
    }

    /// A callback that keeps the draft, and applies it with `apply` when it parses.
    fn input(
        &self,
        key: DraftKey,
        apply: impl Fn(&Ctx, &str) -> Result<(), CellError> + 'static,
    ) -> Callback<InputEvent> {
        let ctx = self.clone();
        Callback::from(move |e: InputEvent| {
            let Some(input) = e.target_dyn_into::<HtmlInputElement>() else {
                return;
            };
            let text = input.value();
            ctx.set_draft(key, text.clone());
            // Errors are shown from the draft on the next render.
            let _ = apply(&ctx, &text);
            ctx.redraw.emit(());
        })
    }

    /// A callback for `change` (commit, blur): forgets the draft when it parses.
    fn commit(
        &self,
        key: DraftKey,
        check: impl Fn(&Ctx, &str) -> Result<(), CellError> + 'static,
    ) -> Callback<Event> {
        let ctx = self.clone();
        Callback::from(move |_: Event| {
            let ok = ctx.draft(key).is_some_and(|t| check(&ctx, &t).is_ok());
            if ok {
                ctx.drop_draft(key);
            }
        })
    }
}

/// Form for a map scenario: `data-testid="map-editor"`, with `map-type`, `map-key-size`,
/// `map-value-size`, `map-max-entries`, `map-flags`, one `map-entry-row` per shown entry
/// (`entry-key`, `entry-value`, `delete-entry`), `add-entry`, and the generator
/// (`generator-count`, ...).
#[function_component(MapEditor)]
pub fn map_editor(props: &MapEditorProps) -> Html {
    let local = use_mut_ref(Local::default);
    let page = use_state(|| 0usize);
    let trigger = use_force_update();
    let instance = use_state(next_instance);
    {
        // Drafts belong to the map they were typed over: a map that is neither the one seen
        // nor our own edit coming back (another example was picked) drops them.
        let mut l = local.borrow_mut();
        let same = l.seen.as_ref().is_some_and(|s| Rc::ptr_eq(s, &props.map));
        if !same {
            if l.emitted.as_ref() != Some(&*props.map) {
                l.drafts.clear();
                l.stash = None;
            }
            l.seen = Some(props.map.clone());
        }
    }
    let ctx = Ctx {
        map: props.map.clone(),
        ncpus: props.ncpus.max(1),
        local,
        redraw: Callback::from(move |()| trigger.force_update()),
        on_change: props.on_change.clone(),
    };
    let errors = spec_errors(&props.map, props.ncpus);
    html! {
        <section class="map-editor" data-testid="map-editor" aria-label="Iterated map">
            { spec_form(&ctx) }
            if !errors.is_empty() {
                <ul class="map-editor-errors" role="alert">
                    { for errors.iter().map(|e| html! { <li data-testid="map-error">{ e }</li> }) }
                </ul>
            }
            { mode_switch(&ctx, *instance) }
            {
                match &props.map.entries {
                    Entries::List(list) => entries_table(&ctx, list, &page, props),
                    Entries::Gen(g) => generator_form(&ctx, g),
                }
            }
        </section>
    }
}

/// A per-instance number for radio group names.
fn next_instance() -> usize {
    thread_local! {
        static NEXT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }
    NEXT.with(|n| {
        let v = n.get();
        n.set(v.wrapping_add(1));
        v
    })
}

fn spec_form(ctx: &Ctx) -> Html {
    let map = &ctx.map;
    let kind = kind_of(map);
    let onchange_type = {
        let ctx = ctx.clone();
        Callback::from(move |e: Event| {
            let Some(kind) = e
                .target_dyn_into::<HtmlSelectElement>()
                .and_then(|s| s.value().parse::<MapKind>().ok())
            else {
                return;
            };
            let mut m = (*ctx.map).clone();
            m.kind = kind.name().to_string();
            // Arrays index with a u32; flags that only hash maps (or LRU maps) take are
            // dropped rather than left to fail.
            if kind.is_array() {
                m.key_size = 4;
                m.flags &= !BPF_F_ZERO_SEED;
            }
            if !kind.is_lru() {
                m.flags &= !BPF_F_NO_COMMON_LRU;
            }
            ctx.local
                .borrow_mut()
                .drafts
                .retain(|k, _| !matches!(k, DraftKey::Spec(_)));
            ctx.emit(m);
        })
    };
    let number = |field: SpecField, label: &str, testid: &'static str, value: u32| {
        let key = DraftKey::Spec(field);
        let apply = move |ctx: &Ctx, text: &str| {
            let v = parse_u32(text)?;
            let mut m = (*ctx.map).clone();
            match field {
                SpecField::KeySize => m.key_size = v,
                SpecField::ValueSize => m.value_size = v,
                SpecField::MaxEntries => m.max_entries = v,
                SpecField::Flags => m.flags = v,
            }
            if m != *ctx.map {
                ctx.emit(m);
            }
            Ok(())
        };
        let draft = ctx.draft(key);
        let error = draft.as_deref().and_then(|t| parse_u32(t).err());
        let value = draft.unwrap_or_else(|| value.to_string());
        html! {
            <label class="map-editor-field">
                <span>{ label }</span>
                <input
                    type="text"
                    inputmode="numeric"
                    data-testid={testid}
                    value={value}
                    aria-invalid={error.is_some().then_some("true")}
                    oninput={ctx.input(key, apply)}
                    onchange={ctx.commit(key, move |_, t| parse_u32(t).map(|_| ()))}
                />
                if let Some(e) = error {
                    <span class="map-editor-error" role="alert">
                        { format!("map.{}: {e}", testid.trim_start_matches("map-").replace('-', "_")) }
                    </span>
                }
            </label>
        }
    };
    let flag = |bit: u32, label: &'static str, testid: &'static str| {
        let ctx2 = ctx.clone();
        let onchange = Callback::from(move |e: Event| {
            let on = e
                .target_dyn_into::<HtmlInputElement>()
                .is_some_and(|i| i.checked());
            let mut m = (*ctx2.map).clone();
            if on {
                m.flags |= bit;
            } else {
                m.flags &= !bit;
            }
            ctx2.local
                .borrow_mut()
                .drafts
                .remove(&DraftKey::Spec(SpecField::Flags));
            ctx2.emit(m);
        });
        html! {
            <label class="map-editor-check">
                <input type="checkbox" data-testid={testid} checked={ctx.map.flags & bit != 0} {onchange} />
                <code>{ label }</code>
            </label>
        }
    };
    let oninput_name = {
        let ctx = ctx.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(i) = e.target_dyn_into::<HtmlInputElement>() {
                let v = i.value();
                let mut m = (*ctx.map).clone();
                m.name = (!v.is_empty()).then_some(v);
                ctx.emit(m);
            }
        })
    };
    let is_array = kind.is_some_and(MapKind::is_array);
    html! {
        <div class="map-editor-spec">
            <label class="map-editor-field">
                <span>{ "Type" }</span>
                <select data-testid="map-type" onchange={onchange_type}>
                    { for KINDS.iter().map(|k| html! {
                        <option value={k.name()} selected={kind == Some(*k)}>{ k.name() }</option>
                    }) }
                    if kind.is_none() {
                        <option value={map.kind.clone()} selected=true>{ format!("{} (unknown)", map.kind) }</option>
                    }
                </select>
            </label>
            <label class="map-editor-field">
                <span>{ "Name" }</span>
                <input
                    type="text"
                    data-testid="map-name"
                    placeholder="orc_map"
                    value={map.name.clone().unwrap_or_default()}
                    oninput={oninput_name}
                />
            </label>
            { number(SpecField::KeySize, if is_array { "Key size (4: u32 index)" } else { "Key size" }, "map-key-size", map.key_size) }
            { number(SpecField::ValueSize, "Value size", "map-value-size", map.value_size) }
            { number(SpecField::MaxEntries, "Max entries", "map-max-entries", map.max_entries) }
            <fieldset class="map-editor-flags">
                <legend>{ "Flags" }</legend>
                if !is_array {
                    { flag(BPF_F_ZERO_SEED, "BPF_F_ZERO_SEED", "map-flag-zero-seed") }
                }
                if kind.is_some_and(MapKind::is_lru) {
                    { flag(BPF_F_NO_COMMON_LRU, "BPF_F_NO_COMMON_LRU", "map-flag-no-common-lru") }
                }
                { number(SpecField::Flags, "Raw", "map-flags", map.flags) }
            </fieldset>
        </div>
    }
}

fn mode_switch(ctx: &Ctx, instance: usize) -> Html {
    let is_gen = matches!(ctx.map.entries, Entries::Gen(_));
    let to_list = {
        let ctx = ctx.clone();
        Callback::from(move |_: Event| {
            if let Entries::Gen(_) = ctx.map.entries {
                let list = ctx.local.borrow_mut().stash.take().unwrap_or_default();
                ctx.emit(ctx.with_entries(Entries::List(list)));
            }
        })
    };
    let to_gen = {
        let ctx = ctx.clone();
        Callback::from(move |_: Event| {
            if let Entries::List(list) = &ctx.map.entries {
                ctx.local.borrow_mut().stash = Some(list.clone());
                let count = u64::try_from(list.len()).unwrap_or(0).max(16);
                ctx.emit(ctx.with_entries(Entries::Gen(Generator {
                    gen: "seq".into(),
                    count,
                    start: 0,
                    step: 1,
                    mul: 1,
                    add: 0,
                    cpu_add: 0,
                })));
            }
        })
    };
    let name = format!("map-editor-mode-{instance}");
    html! {
        <fieldset class="map-editor-mode">
            <legend>{ "Entries" }</legend>
            <label>
                <input type="radio" name={name.clone()} data-testid="mode-list" checked={!is_gen} onchange={to_list} />
                { "Explicit entries" }
            </label>
            <label>
                <input type="radio" {name} data-testid="mode-generator" checked={is_gen} onchange={to_gen} />
                { "Generator" }
            </label>
        </fieldset>
    }
}

/// The error of one cell's text (draft or stored), if any.
fn cell_error(ctx: &Ctx, text: &str, slot: Slot, array_key: bool) -> Option<CellError> {
    if array_key {
        return match parse_u32(text) {
            Ok(i) if i >= ctx.map.max_entries => Some(CellError::IndexPastEnd {
                index: i,
                max_entries: ctx.map.max_entries,
            }),
            Ok(_) => None,
            Err(e) => Some(e),
        };
    }
    check_bytes(text, ctx.size(slot), slot.noun()).err()
}

/// The index an array key holds, as text (the raw hex when it is not 4 bytes).
fn index_text(hex_key: &str) -> String {
    match parse_hex(hex_key).ok().as_deref() {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]).to_string(),
        _ => hex_key.to_string(),
    }
}

/// One key or value: a hex box, an index box (array keys) or one box per field.
fn cell(ctx: &Ctx, row: usize, slot: Slot, fields: Option<&Rc<[FieldLeaf]>>) -> Html {
    let array_key = slot == Slot::Key && kind_of(&ctx.map).is_some_and(MapKind::is_array);
    let entry_stored = ctx.list().get(row).map(|e| stored(e, slot).to_string());
    let stored_text = entry_stored.unwrap_or_default();
    let testid = match slot {
        Slot::Key => "entry-key",
        Slot::Value(_) => "entry-value",
    };
    let cpu = match slot {
        Slot::Value(Some(c)) => Some(c.to_string()),
        _ => None,
    };
    let fields = if array_key {
        None
    } else {
        usable(fields, u32::try_from(ctx.size(slot)).unwrap_or(u32::MAX))
    };
    if let Some(fields) = fields {
        // Length problems of the stored hex still show; fields edit a resized copy.
        let stored_err = check_bytes(&stored_text, ctx.size(slot), slot.noun()).err();
        let bytes = ctx.cell_bytes(row, slot);
        let mut errors: Vec<String> = stored_err
            .map(|e| format!("{}: {e}", slot.place(row)))
            .into_iter()
            .collect();
        let boxes = fields.iter().enumerate().map(|(i, leaf)| {
            let key = DraftKey::Cell {
                row,
                slot,
                leaf: Some(i),
            };
            let draft = ctx.draft(key);
            let leaf2 = leaf.clone();
            let apply = move |ctx: &Ctx, text: &str| {
                let v = parse_number(text).ok_or_else(|| CellError::NotNumber {
                    text: text.to_string(),
                })?;
                let mut b = ctx.cell_bytes(row, slot);
                typed::encode_leaf(&leaf2, v, &mut b).map_err(CellError::Field)?;
                ctx.set_cell(row, slot, hex(&b));
                Ok(())
            };
            let leaf3 = leaf.clone();
            let check = move |ctx: &Ctx, text: &str| {
                let v = parse_number(text).ok_or_else(|| CellError::NotNumber {
                    text: text.to_string(),
                })?;
                typed::encode_leaf(&leaf3, v, &mut ctx.cell_bytes(row, slot))
                    .map_err(CellError::Field)
            };
            let error = draft.as_deref().and_then(|t| {
                let v = parse_number(t).ok_or_else(|| CellError::NotNumber {
                    text: t.to_string(),
                });
                match v {
                    Err(e) => Some(e),
                    Ok(v) => {
                        let mut b = bytes.clone();
                        typed::encode_leaf(leaf, v, &mut b)
                            .err()
                            .map(CellError::Field)
                    }
                }
            });
            let path = if leaf.path.is_empty() {
                slot.noun().to_string()
            } else {
                leaf.path.clone()
            };
            if let Some(e) = &error {
                errors.push(format!("{}.{path}: {e}", slot.place(row)));
            }
            let value = draft.unwrap_or_else(|| {
                typed::decode_leaf(leaf, &bytes).map_or_else(|_| String::new(), |v| v.to_string())
            });
            html! {
                <label class="map-editor-leaf">
                    <span>{ &path }</span>
                    <input
                        type="text"
                        inputmode="numeric"
                        data-testid="entry-field"
                        data-path={leaf.path.clone()}
                        title={leaf.int_type()}
                        aria-label={format!("{} {path} ({})", slot.place(row), leaf.int_type())}
                        aria-invalid={error.is_some().then_some("true")}
                        {value}
                        oninput={ctx.input(key, apply)}
                        onchange={ctx.commit(key, check)}
                    />
                </label>
            }
        });
        let boxes: Html = boxes.collect();
        return html! {
            <div class="map-editor-fields" data-testid={testid} data-cpu={cpu}>
                { boxes }
                { for errors.iter().map(|e| html! {
                    <div class="map-editor-error" data-testid="entry-error" role="alert">{ e }</div>
                }) }
            </div>
        };
    }
    let key = DraftKey::Cell {
        row,
        slot,
        leaf: None,
    };
    let draft = ctx.draft(key);
    let text = draft.clone().unwrap_or_else(|| {
        if array_key {
            index_text(&stored_text)
        } else {
            stored_text.clone()
        }
    });
    let error = cell_error(ctx, &text, slot, array_key);
    let apply = move |ctx: &Ctx, text: &str| {
        let bytes = if array_key {
            parse_u32(text)?.to_le_bytes().to_vec()
        } else {
            check_bytes(text, ctx.size(slot), slot.noun())?
        };
        let h = hex(&bytes);
        let unchanged = ctx.list().get(row).is_some_and(|e| stored(e, slot) == h);
        if !unchanged {
            ctx.set_cell(row, slot, h);
        }
        Ok(())
    };
    let check = move |ctx: &Ctx, text: &str| {
        if array_key {
            parse_u32(text).map(|_| ())
        } else {
            check_bytes(text, ctx.size(slot), slot.noun()).map(|_| ())
        }
    };
    let label = if array_key {
        format!("{} (index)", slot.place(row))
    } else {
        format!("{} (hex, {} bytes)", slot.place(row), ctx.size(slot))
    };
    let warning = error.as_ref().is_some_and(CellError::is_warning);
    html! {
        <div class="map-editor-cell">
            <input
                type="text"
                class={classes!("map-editor-hex", array_key.then_some("map-editor-index"))}
                inputmode={array_key.then_some("numeric")}
                spellcheck="false"
                autocomplete="off"
                data-testid={testid}
                data-cpu={cpu}
                aria-label={label}
                aria-invalid={(error.is_some() && !warning).then_some("true")}
                value={text}
                oninput={ctx.input(key, apply)}
                onchange={ctx.commit(key, check)}
            />
            if let Some(e) = error {
                <div
                    class={if warning { "map-editor-warning" } else { "map-editor-error" }}
                    data-testid="entry-error"
                    role="alert"
                >
                    { format!("{}: {e}", slot.place(row)) }
                </div>
            }
        </div>
    }
}

fn value_cells(ctx: &Ctx, row: usize, entry: &Entry, fields: Option<&Rc<[FieldLeaf]>>) -> Html {
    let percpu_map = kind_of(&ctx.map).is_some_and(MapKind::is_percpu);
    let per_cpu = matches!(entry.value, HexValue::PerCpu(_));
    let toggle = (percpu_map || per_cpu).then(|| {
        let ctx = ctx.clone();
        let onchange = Callback::from(move |e: Event| {
            let on = e
                .target_dyn_into::<HtmlInputElement>()
                .is_some_and(|i| i.checked());
            let mut list = ctx.list().to_vec();
            let Some(entry) = list.get_mut(row) else {
                return;
            };
            entry.value = match (&entry.value, on) {
                (HexValue::One(h), true) => HexValue::PerCpu(vec![h.clone(); ctx.ncpus as usize]),
                (HexValue::PerCpu(l), false) => HexValue::One(
                    l.first()
                        .cloned()
                        .unwrap_or_else(|| hex(&vec![0; ctx.map.value_size as usize])),
                ),
                (v, _) => v.clone(),
            };
            ctx.local.borrow_mut().drafts.retain(|k, _| {
                !matches!(k, DraftKey::Cell { row: r, slot: Slot::Value(_), .. } if *r == row)
            });
            ctx.emit(ctx.with_entries(Entries::List(list)));
        });
        html! {
            <label class="map-editor-check">
                <input type="checkbox" data-testid="entry-percpu" checked={per_cpu} {onchange} />
                { format!("one value per CPU (entry {row})") }
            </label>
        }
    });
    let cells: Html = match &entry.value {
        HexValue::One(_) => cell(ctx, row, Slot::Value(None), fields),
        HexValue::PerCpu(list) => (0..list.len().max(ctx.ncpus as usize))
            .map(|c| {
                html! {
                    <div class="map-editor-cpu">
                        <span class="map-editor-cpu-label">{ format!("cpu {c}") }</span>
                        { cell(ctx, row, Slot::Value(Some(c)), fields) }
                    </div>
                }
            })
            .collect(),
    };
    html! { <>{ cells }{ for toggle }</> }
}

fn entries_table(
    ctx: &Ctx,
    list: &[Entry],
    page: &UseStateHandle<usize>,
    props: &MapEditorProps,
) -> Html {
    let pages = list.len().div_ceil(PAGE_ROWS).max(1);
    let current = (**page).min(pages - 1);
    let from = current * PAGE_ROWS;
    let to = (from + PAGE_ROWS).min(list.len());
    let add = {
        let ctx = ctx.clone();
        let page = page.clone();
        Callback::from(move |_: MouseEvent| {
            let mut list = ctx.list().to_vec();
            let key = next_free_key(&ctx.map, &list);
            list.push(Entry {
                key: hex(&key),
                value: HexValue::One(hex(&vec![0; ctx.map.value_size as usize])),
                flags: None,
            });
            page.set((list.len() - 1) / PAGE_ROWS);
            ctx.emit(ctx.with_entries(Entries::List(list)));
        })
    };
    let delete = |row: usize| {
        let ctx = ctx.clone();
        Callback::from(move |_: MouseEvent| {
            let mut list = ctx.list().to_vec();
            if row >= list.len() {
                return;
            }
            list.remove(row);
            {
                let mut l = ctx.local.borrow_mut();
                let old = std::mem::take(&mut l.drafts);
                l.drafts = old
                    .into_iter()
                    .filter_map(|(k, v)| match k {
                        DraftKey::Cell { row: r, .. } if r == row => None,
                        DraftKey::Cell { row: r, slot, leaf } if r > row => Some((
                            DraftKey::Cell {
                                row: r - 1,
                                slot,
                                leaf,
                            },
                            v,
                        )),
                        k => Some((k, v)),
                    })
                    .collect();
            }
            ctx.emit(ctx.with_entries(Entries::List(list)));
        })
    };
    let pager = (pages > 1).then(|| {
        let go = |to: usize| {
            let page = page.clone();
            Callback::from(move |_: MouseEvent| page.set(to))
        };
        html! {
            <nav class="map-editor-pager" aria-label="Entry pages">
                <button type="button" data-testid="entries-prev" disabled={current == 0} onclick={go(current.saturating_sub(1))}>
                    { "Previous" }
                </button>
                <span data-testid="entries-page">
                    { format!("entries {}–{} of {} (page {} of {pages})", from, to.saturating_sub(1), list.len(), current + 1) }
                </span>
                <button type="button" data-testid="entries-next" disabled={current + 1 >= pages} onclick={go(current + 1)}>
                    { "Next" }
                </button>
            </nav>
        }
    });
    let is_array = kind_of(&ctx.map).is_some_and(MapKind::is_array);
    let rows = (from..to).map(|row| {
        let entry = &list[row];
        html! {
            <tr data-testid="map-entry-row" data-row={row.to_string()}>
                <th scope="row">{ row }</th>
                <td>{ cell(ctx, row, Slot::Key, props.key_fields.as_ref()) }</td>
                <td>{ value_cells(ctx, row, entry, props.value_fields.as_ref()) }</td>
                <td>
                    <button
                        type="button"
                        class="map-editor-delete"
                        data-testid="delete-entry"
                        aria-label={format!("Delete entry {row}")}
                        title={format!("Delete entry {row}")}
                        onclick={delete(row)}
                    >{ "\u{2715}" }</button>
                </td>
            </tr>
        }
    });
    html! {
        <div class="map-editor-entries">
            { for pager.clone() }
            <table class="map-editor-table">
                <thead>
                    <tr>
                        <th scope="col">{ "#" }</th>
                        <th scope="col">{ if is_array { "Key (index)" } else { "Key (hex)" } }</th>
                        <th scope="col">{ "Value (hex)" }</th>
                        <th scope="col"><span class="visually-hidden">{ "Delete" }</span></th>
                    </tr>
                </thead>
                <tbody>{ for rows }</tbody>
            </table>
            if list.is_empty() {
                <p class="map-editor-empty">{ "No entries: the iterator sees an empty map." }</p>
            }
            { for pager }
            <button type="button" data-testid="add-entry" onclick={add}>{ "Add entry" }</button>
        </div>
    }
}

fn generator_form(ctx: &Ctx, g: &Generator) -> Html {
    let field = |f: GenField| {
        let key = DraftKey::Gen(f);
        let apply = move |ctx: &Ctx, text: &str| {
            let v = parse_u64(text)?;
            if let Entries::Gen(g) = &ctx.map.entries {
                if f.get(g) != v {
                    let mut g = g.clone();
                    f.set(&mut g, v);
                    ctx.emit(ctx.with_entries(Entries::Gen(g)));
                }
            }
            Ok(())
        };
        let draft = ctx.draft(key);
        let error = draft.as_deref().and_then(|t| parse_u64(t).err());
        let value = draft.unwrap_or_else(|| f.get(g).to_string());
        html! {
            <label class="map-editor-field">
                <span><code>{ f.name() }</code></span>
                <input
                    type="text"
                    inputmode="numeric"
                    data-testid={format!("generator-{}", f.name().replace('_', "-"))}
                    aria-invalid={error.is_some().then_some("true")}
                    {value}
                    oninput={ctx.input(key, apply)}
                    onchange={ctx.commit(key, |_, t| parse_u64(t).map(|_| ()))}
                />
                if let Some(e) = error {
                    <span class="map-editor-error" role="alert">{ format!("map.entries.{}: {e}", f.name()) }</span>
                }
            </label>
        }
    };
    let preview = generated(g, &ctx.map, ctx.ncpus, PREVIEW_ROWS);
    let expand = (g.count <= EXPAND_LIMIT).then(|| {
        let ctx = ctx.clone();
        let count = g.count;
        let g = g.clone();
        let onclick = Callback::from(move |_: MouseEvent| {
            let list = generated(&g, &ctx.map, ctx.ncpus, EXPAND_LIMIT);
            ctx.local.borrow_mut().stash = None;
            ctx.emit(ctx.with_entries(Entries::List(list)));
        });
        html! {
            <button type="button" data-testid="expand-generator" {onclick}>
                { format!("Expand into {count} entries") }
            </button>
        }
    });
    let show = |v: &HexValue| match v {
        HexValue::One(h) => h.clone(),
        HexValue::PerCpu(l) => l.join(" | "),
    };
    html! {
        <div class="map-editor-generator" data-testid="generator">
            <p class="map-editor-formula" data-testid="generator-formula">
                <code>{ "key = start + i·step" }</code>{ ", " }
                <code>{ "value = key·mul + add (+ cpu·cpu_add)" }</code>
                { format!(", for i in 0..{}, little-endian in {} and {} bytes", g.count, ctx.map.key_size, ctx.map.value_size) }
            </p>
            <div class="map-editor-spec">
                { for GenField::ALL.into_iter().map(field) }
            </div>
            <table class="map-editor-table" data-testid="generator-preview">
                <caption>{ format!("First {} of {} entries", preview.len(), g.count) }</caption>
                <thead><tr><th scope="col">{ "#" }</th><th scope="col">{ "Key" }</th><th scope="col">{ "Value" }</th></tr></thead>
                <tbody>
                    { for preview.iter().enumerate().map(|(i, e)| html! {
                        <tr><th scope="row">{ i }</th><td><code>{ &e.key }</code></td><td><code>{ show(&e.value) }</code></td></tr>
                    }) }
                </tbody>
            </table>
            if let Some(button) = expand {
                { button }
            } else {
                <p class="map-editor-note">{ format!("Expanding is offered up to {EXPAND_LIMIT} entries.") }</p>
            }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(kind: &str, ks: u32, vs: u32) -> MapScenario {
        MapScenario {
            kind: kind.into(),
            name: None,
            key_size: ks,
            value_size: vs,
            max_entries: 8,
            flags: 0,
            entries: Entries::List(Vec::new()),
            ops: Vec::new(),
            key_type: None,
            value_type: None,
            storage: Vec::new(),
            btf: None,
        }
    }

    #[test]
    fn hex_allows_spaces_and_names_the_bad_character() {
        assert_eq!(parse_hex("01 02\tAb ff"), Ok(vec![1, 2, 0xab, 0xff]));
        assert_eq!(parse_hex(""), Ok(vec![]));
        assert_eq!(parse_hex("0g"), Err(CellError::NotHex { at: 1, ch: 'g' }));
        assert_eq!(parse_hex("abc"), Err(CellError::OddDigits { digits: 3 }));
        assert_eq!(
            parse_hex("0é").unwrap_err().to_string(),
            "'é' at character 2 is not a hex digit"
        );
    }

    #[test]
    fn lengths_are_named_like_the_scenario() {
        let e = check_bytes("010203", 4, "key").unwrap_err();
        assert_eq!(
            format!("{}: {e}", Slot::Key.place(3)),
            "entry 3 key: 3 bytes, the key is 4"
        );
        assert_eq!(
            check_bytes("01", 2, "value").unwrap_err().to_string(),
            "1 byte, the value is 2"
        );
        assert_eq!(check_bytes("0102 0304", 4, "key"), Ok(vec![1, 2, 3, 4]));
        assert_eq!(
            Slot::Value(Some(1)).place(0),
            "entry 0 value (cpu 1)".to_string()
        );
    }

    #[test]
    fn numbers_in_decimal_or_hex() {
        assert_eq!(parse_number(" 42 "), Some(42));
        assert_eq!(parse_number("-7"), Some(-7));
        assert_eq!(parse_number("0x1F"), Some(31));
        assert_eq!(parse_number("1e3"), None);
        assert_eq!(parse_number(""), None);
        assert_eq!(parse_number("-"), None);
        assert!(parse_u32("4294967296").is_err());
        assert_eq!(parse_u64("18446744073709551615"), Ok(u64::MAX));
    }

    #[test]
    fn spec_errors_name_the_field_with_the_emulator_rules() {
        assert_eq!(spec_errors(&map("hash", 4, 8), 2), Vec::<String>::new());
        assert_eq!(
            spec_errors(&map("hash", 0, 8), 2),
            ["map.key_size: must not be 0"]
        );
        assert_eq!(
            spec_errors(&map("array", 8, 8), 2),
            ["map.key_size: must be 4 for an array (a u32 index), not 8"]
        );
        let mut m = map("hash", 4, 8);
        m.flags = BPF_F_NO_COMMON_LRU;
        assert!(spec_errors(&m, 2)[0].starts_with("map.flags: 0x2 is not valid for hash"));
        m.flags = 0;
        m.max_entries = 0;
        assert_eq!(spec_errors(&m, 2), ["map.max_entries: must not be 0"]);
        m.kind = "queue".into();
        assert_eq!(spec_errors(&m, 2), ["map.type: unknown map type \"queue\""]);
        let mut big = map("hash", 4, 4 << 20);
        big.name = Some("a_name_that_is_too_long".into());
        let e = spec_errors(&big, 2);
        assert!(e[0].starts_with("map.name: "), "{e:?}");
        assert!(e[1].starts_with("map.key_size + map.value_size: "), "{e:?}");
        let mut g = map("hash", 4, 8);
        g.entries = Entries::Gen(Generator {
            gen: "seq".into(),
            count: 1 << 40,
            start: 0,
            step: 1,
            mul: 1,
            add: 0,
            cpu_add: 0,
        });
        assert!(spec_errors(&g, 2)[0].starts_with("map.entries.count: "));
    }

    #[test]
    fn generator_matches_the_scenario_formula() {
        let mut m = map("percpu_hash", 4, 8);
        let g = Generator {
            gen: "seq".into(),
            count: 1_000_000,
            start: 10,
            step: 2,
            mul: 3,
            add: 1,
            cpu_add: 100,
        };
        let e = generated(&g, &m, 2, 2);
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].key, "0c000000");
        // key 12: 12*3+1 = 37 on cpu 0, 137 on cpu 1.
        assert_eq!(
            e[1].value,
            HexValue::PerCpu(vec!["2500000000000000".into(), "8900000000000000".into()])
        );
        m.kind = "hash".into();
        assert_eq!(
            generated(&g, &m, 2, 1)[0].value,
            HexValue::One("1f00000000000000".into())
        );
    }

    #[test]
    fn new_keys_are_the_smallest_unused() {
        let m = map("hash", 4, 8);
        let e = |k: &str| Entry {
            key: k.into(),
            value: HexValue::One("00".into()),
            flags: None,
        };
        assert_eq!(next_free_key(&m, &[]), vec![0, 0, 0, 0]);
        assert_eq!(
            next_free_key(&m, &[e("00000000"), e("02000000"), e("01 00 00 00")]),
            vec![3, 0, 0, 0]
        );
    }

    #[test]
    fn cells_write_per_cpu_values() {
        let e = Entry {
            key: "00".into(),
            value: HexValue::One("aa".into()),
            flags: None,
        };
        let e2 = with_cell(&e, Slot::Value(Some(2)), "bb".into(), 1);
        assert_eq!(
            e2.value,
            HexValue::PerCpu(vec!["aa".into(), "00".into(), "bb".into()])
        );
        assert_eq!(stored(&e2, Slot::Value(Some(5))), "");
        assert_eq!(stored(&e2, Slot::Value(Some(2))), "bb");
        assert_eq!(index_text("07000000"), "7");
        assert_eq!(index_text("07"), "07");
    }
}
