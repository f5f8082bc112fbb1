//! Hash maps: `HASH`, `PERCPU_HASH`, `LRU_HASH` and `LRU_PERCPU_HASH`.
//!
//! Elements live in preallocated slots of one [`Region`], laid out like the kernel's
//! `htab_elem` payload: the key at the slot start, the value at `round_up(key_size, 8)`
//! (per-CPU maps: one `round_up(value_size, 8)` slot per CPU there). Buckets are singly
//! linked lists of slot indices kept outside guest memory; insertion is always at the bucket
//! head, and an unlinked slot keeps its `next` link, as an RCU hlist does. That is what lets
//! the iterator continue from an element the program has just deleted (spec §4.3).
//!
//! Capacity: a plain hash holds `max_entries` live elements (`E2BIG` beyond); replacing an
//! existing key uses a per-CPU spare slot like the kernel's `extra_elems`, so it succeeds in a
//! full map. LRU maps take and free slots through the `lru` module.
//!
//! Out of scope: `BPF_F_LOCK`, batch operations, lookup-and-delete.

use super::lru::Lru;
use super::{
    check_size, round_up8, write_percpu_all, IterCursor, IterElem, MapDef, MapError, MapKind,
    MapLimits, UpdateValue,
};
use super::{jhash::htab_hash, DumpValue};
use crate::errno::Errno;
use crate::mem::Region;

const NIL: u32 = u32::MAX;

/// The value of an update: from user space (all CPUs) or from a program (one CPU).
#[derive(Debug, Clone, Copy)]
pub(crate) enum NewValue<'a> {
    /// `BPF_MAP_UPDATE_ELEM` (already size-checked).
    Sys(&'a UpdateValue<'a>),
    /// `bpf_map_update_elem` (`value_size` bytes).
    Prog(&'a [u8]),
}

/// Buckets and element storage.
#[derive(Debug)]
struct Table {
    storage: Region,
    key_size: usize,
    slot_size: usize,
    mask: u32,
    seed: u32,
    heads: Vec<u32>,
    next: Vec<u32>,
    /// Bucket a slot is linked into, or `NIL`.
    bucket_of: Vec<u32>,
    count: usize,
}

impl Table {
    fn key(&self, slot: u32) -> &[u8] {
        let off = slot as usize * self.slot_size;
        &self.storage.bytes()[off..off + self.key_size]
    }

    fn bucket(&self, key: &[u8]) -> u32 {
        htab_hash(key, self.seed) & self.mask
    }

    fn lookup(&self, key: &[u8]) -> Option<u32> {
        let mut s = self.heads[self.bucket(key) as usize];
        while s != NIL {
            if self.key(s) == key {
                return Some(s);
            }
            s = self.next[s as usize];
        }
        None
    }

    fn link_head(&mut self, slot: u32) {
        if self.bucket_of[slot as usize] != NIL {
            self.unlink(slot);
        }
        let b = self.bucket(self.key(slot));
        self.next[slot as usize] = self.heads[b as usize];
        self.heads[b as usize] = slot;
        self.bucket_of[slot as usize] = b;
        self.count += 1;
    }

    /// Unlinks `slot` from its bucket (its own `next` stays, as with `hlist_nulls_del_rcu`).
    /// Returns whether it was linked.
    fn unlink(&mut self, slot: u32) -> bool {
        let b = self.bucket_of[slot as usize];
        if b == NIL {
            return false;
        }
        let after = self.next[slot as usize];
        if self.heads[b as usize] == slot {
            self.heads[b as usize] = after;
        } else {
            let mut p = self.heads[b as usize];
            while p != NIL && self.next[p as usize] != slot {
                p = self.next[p as usize];
            }
            if p != NIL {
                self.next[p as usize] = after;
            }
        }
        self.bucket_of[slot as usize] = NIL;
        self.count -= 1;
        true
    }
}

/// How slots are handed out.
#[derive(Debug)]
enum Alloc {
    /// Preallocated free list plus one spare per CPU (plain hash) for replacements.
    Prealloc { free: Vec<u32>, extra: Vec<u32> },
    /// The LRU lists.
    Lru(Box<Lru>),
}

/// A hash-family map.
#[derive(Debug)]
pub(crate) struct HashMap {
    kind: MapKind,
    value_size: usize,
    stride: usize,
    ncpus: usize,
    /// `round_up(key_size, 8)`: offset of the value in a slot.
    key_off: usize,
    table: Table,
    alloc: Alloc,
    /// Per-CPU maps: the iterator's copy buffer (`ctx->value`).
    iter_buf: Option<Region>,
}

impl HashMap {
    pub(crate) fn new(
        def: &MapDef,
        ncpus: u32,
        seed: u32,
        limits: &MapLimits,
    ) -> Result<HashMap, MapError> {
        let percpu = def.kind.is_percpu();
        let key_size = def.key_size as usize;
        let value_size = def.value_size as usize;
        let stride = round_up8(value_size);
        let key_off = round_up8(key_size);
        let vals = if percpu {
            stride * ncpus as usize
        } else {
            stride
        };
        let slot_size = key_off + vals;
        let spares = if def.kind == MapKind::Hash { ncpus } else { 0 };
        let nslots = u64::from(def.max_entries) + u64::from(spares);
        let n_buckets = super::roundup_pow_of_two(def.max_entries);
        check_size(
            &def.name,
            &[
                (nslots, slot_size as u64),
                (nslots, 32),
                (n_buckets, 4),
                (u64::from(percpu), vals as u64),
            ],
            limits,
        )?;
        // Both fit: the size check bounded them by max_bytes.
        let nslots = nslots as u32;
        let table = Table {
            storage: Region::new(nslots as usize * slot_size),
            key_size,
            slot_size,
            mask: (n_buckets - 1) as u32,
            seed,
            heads: vec![NIL; n_buckets as usize],
            next: vec![NIL; nslots as usize],
            bucket_of: vec![NIL; nslots as usize],
            count: 0,
        };
        let alloc = if def.kind.is_lru() {
            let percpu_lru = def.flags & super::BPF_F_NO_COMMON_LRU != 0;
            Alloc::Lru(Box::new(Lru::new(def.max_entries, ncpus, percpu_lru)))
        } else {
            Alloc::Prealloc {
                free: (0..def.max_entries).rev().collect(),
                extra: (def.max_entries..nslots).collect(),
            }
        };
        Ok(HashMap {
            kind: def.kind,
            value_size,
            stride,
            ncpus: ncpus as usize,
            key_off,
            table,
            alloc,
            iter_buf: percpu.then(|| Region::new(vals)),
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.table.count
    }

    fn value_off(&self, slot: u32) -> usize {
        slot as usize * self.table.slot_size + self.key_off
    }

    fn percpu(&self) -> bool {
        self.kind.is_percpu()
    }

    /// Bytes of a slot's value area (all CPUs for per-CPU maps).
    fn vals_len(&self) -> usize {
        if self.percpu() {
            self.stride * self.ncpus
        } else {
            self.value_size
        }
    }

    fn write_key(&mut self, slot: u32, key: &[u8]) {
        let off = slot as usize * self.table.slot_size;
        self.table.storage.bytes_mut()[off..off + key.len()].copy_from_slice(key);
    }

    /// Initialises a new element's value(s) (`pcpu_init_value` for per-CPU maps).
    fn init_value(&mut self, slot: u32, value: NewValue<'_>, cpu: usize) {
        let off = self.value_off(slot);
        let len = self.vals_len();
        let (percpu, vs, stride) = (self.percpu(), self.value_size, self.stride);
        let dst = &mut self.table.storage.bytes_mut()[off..off + len];
        match value {
            NewValue::Sys(v) if percpu => write_percpu_all(dst, v, vs),
            NewValue::Sys(v) => dst.copy_from_slice(super::single_value(v)),
            NewValue::Prog(v) if percpu => {
                dst.fill(0);
                dst[cpu * stride..cpu * stride + vs].copy_from_slice(v);
            }
            NewValue::Prog(v) => dst.copy_from_slice(v),
        }
    }

    /// Overwrites an existing per-CPU element in place (`pcpu_copy_value`).
    fn overwrite_percpu(&mut self, slot: u32, value: NewValue<'_>, cpu: usize) {
        let off = self.value_off(slot);
        let len = self.vals_len();
        let (vs, stride) = (self.value_size, self.stride);
        let dst = &mut self.table.storage.bytes_mut()[off..off + len];
        match value {
            NewValue::Sys(v) => write_percpu_all(dst, v, vs),
            NewValue::Prog(v) => dst[cpu * stride..cpu * stride + vs].copy_from_slice(v),
        }
    }

    pub(crate) fn update(
        &mut self,
        key: &[u8],
        value: NewValue<'_>,
        flags: u64,
        cpu: u32,
    ) -> Result<(), Errno> {
        if flags > super::BPF_EXIST {
            return Err(Errno::EINVAL);
        }
        if self.kind.is_lru() {
            return self.update_lru(key, value, flags, cpu);
        }
        let c = cpu as usize;
        let old = self.table.lookup(key);
        check_flags(old.is_some(), flags)?;
        match (self.percpu(), old) {
            (true, Some(slot)) => self.overwrite_percpu(slot, value, c),
            (false, Some(old)) => {
                // The replacement comes from this CPU's spare; the old element becomes it.
                let Alloc::Prealloc { extra, .. } = &mut self.alloc else {
                    return Err(Errno::EINVAL);
                };
                let Some(spare) = extra.get_mut(c) else {
                    return Err(Errno::EINVAL);
                };
                let new = std::mem::replace(spare, old);
                self.write_key(new, key);
                self.init_value(new, value, c);
                self.table.link_head(new);
                self.table.unlink(old);
            }
            (_, None) => {
                let Alloc::Prealloc { free, .. } = &mut self.alloc else {
                    return Err(Errno::EINVAL);
                };
                let new = free.pop().ok_or(Errno::E2BIG)?;
                self.write_key(new, key);
                self.init_value(new, value, c);
                self.table.link_head(new);
            }
        }
        Ok(())
    }

    /// `htab_lru_map_update_elem` / `__htab_lru_percpu_map_update_elem`: pop a node first
    /// (it may evict, even the key being updated), then look up and check the flags.
    fn update_lru(
        &mut self,
        key: &[u8],
        value: NewValue<'_>,
        flags: u64,
        cpu: u32,
    ) -> Result<(), Errno> {
        let c = cpu as usize;
        let percpu = self.percpu();
        let Alloc::Lru(lru) = &mut self.alloc else {
            return Err(Errno::EINVAL);
        };
        let table = &mut self.table;
        let node = if percpu && flags == super::BPF_EXIST {
            None
        } else {
            let mut evict = |s: u32| table.unlink(s);
            Some(lru.pop_free(cpu, &mut evict).ok_or(Errno::ENOMEM)?)
        };
        if let Some(n) = node {
            self.write_key(n, key);
            if !percpu {
                self.init_value(n, value, c);
            }
        }
        let old = self.table.lookup(key);
        let Alloc::Lru(lru) = &mut self.alloc else {
            return Err(Errno::EINVAL);
        };
        if let Err(e) = check_flags(old.is_some(), flags) {
            if let Some(n) = node {
                lru.push_free(n);
            }
            return Err(e);
        }
        match (percpu, old, node) {
            (false, old, Some(n)) => {
                self.table.link_head(n);
                if let Some(o) = old {
                    lru.set_ref(n);
                    self.table.unlink(o);
                    lru.push_free(o);
                }
            }
            (true, Some(o), n) => {
                lru.set_ref(o);
                if let Some(n) = n {
                    lru.push_free(n);
                }
                self.overwrite_percpu(o, value, c);
            }
            (true, None, Some(n)) => {
                self.init_value(n, value, c);
                self.table.link_head(n);
            }
            // A non-per-CPU update always has a node, and EXIST on a missing key failed
            // the flag check above.
            _ => return Err(Errno::EINVAL),
        }
        Ok(())
    }

    pub(crate) fn delete(&mut self, key: &[u8]) -> Result<(), Errno> {
        let slot = self.table.lookup(key).ok_or(Errno::ENOENT)?;
        self.table.unlink(slot);
        match &mut self.alloc {
            Alloc::Prealloc { free, .. } => free.push(slot),
            Alloc::Lru(lru) => lru.push_free(slot),
        }
        Ok(())
    }

    pub(crate) fn lookup_prog(&mut self, key: &[u8], cpu: u32) -> Option<u64> {
        let slot = self.table.lookup(key)?;
        if let Alloc::Lru(lru) = &mut self.alloc {
            lru.set_ref(slot);
        }
        let cpu_off = if self.percpu() {
            cpu as usize * self.stride
        } else {
            0
        };
        Some(self.table.storage.addr() + (self.value_off(slot) + cpu_off) as u64)
    }

    fn dump_value(&self, slot: u32) -> DumpValue {
        let off = self.value_off(slot);
        let bytes = self.table.storage.bytes();
        if self.percpu() {
            DumpValue::PerCpu(
                (0..self.ncpus)
                    .map(|c| {
                        let o = off + c * self.stride;
                        bytes[o..o + self.value_size].to_vec()
                    })
                    .collect(),
            )
        } else {
            DumpValue::Single(bytes[off..off + self.value_size].to_vec())
        }
    }

    pub(crate) fn lookup_sys(&self, key: &[u8]) -> Option<DumpValue> {
        self.table.lookup(key).map(|s| self.dump_value(s))
    }

    pub(crate) fn dump(&self) -> Vec<(Vec<u8>, DumpValue)> {
        let mut out = Vec::with_capacity(self.table.count);
        for &head in &self.table.heads {
            let mut s = head;
            while s != NIL {
                out.push((self.table.key(s).to_vec(), self.dump_value(s)));
                s = self.table.next[s as usize];
            }
        }
        out
    }

    /// `bpf_hash_map_seq_find_next`: from `prev`'s successor if it has one, else by scanning
    /// from the cursor's bucket, skipping `skip` elements there.
    fn find_next(&mut self, cur: &mut IterCursor, prev: Option<u32>) -> Option<IterElem> {
        let n_buckets = self.table.heads.len() as u32;
        if cur.bucket >= n_buckets {
            cur.cur = None;
            return None;
        }
        let mut skip = cur.skip;
        let mut first = cur.bucket;
        let mut found = None;
        if let Some(p) = prev {
            let n = self.table.next.get(p as usize).copied().unwrap_or(NIL);
            if n != NIL {
                found = Some(n);
            } else {
                first += 1;
                skip = 0;
            }
        }
        if found.is_none() {
            'buckets: for b in first..n_buckets {
                let mut s = self.table.heads[b as usize];
                let mut count = 0;
                while s != NIL {
                    if count >= skip {
                        cur.bucket = b;
                        cur.skip = count;
                        found = Some(s);
                        break 'buckets;
                    }
                    count += 1;
                    s = self.table.next[s as usize];
                }
                skip = 0;
            }
        }
        let Some(slot) = found else {
            cur.bucket = n_buckets;
            cur.skip = 0;
            cur.cur = None;
            return None;
        };
        cur.cur = Some(slot);
        let key_addr = self.table.storage.addr() + (slot as usize * self.table.slot_size) as u64;
        let value_off = self.value_off(slot);
        let value_addr = match &mut self.iter_buf {
            Some(buf) => {
                let len = buf.len();
                buf.bytes_mut()
                    .copy_from_slice(&self.table.storage.bytes()[value_off..value_off + len]);
                buf.addr()
            }
            None => self.table.storage.addr() + value_off as u64,
        };
        Some(IterElem {
            key_addr,
            value_addr,
        })
    }

    pub(crate) fn iter_start(&mut self, cur: &mut IterCursor) -> Option<IterElem> {
        self.find_next(cur, None)
    }

    pub(crate) fn iter_next(&mut self, cur: &mut IterCursor) -> Option<IterElem> {
        let prev = cur.cur;
        if prev.is_some() {
            cur.skip = cur.skip.saturating_add(1);
        }
        self.find_next(cur, prev)
    }

    /// The regions a program can see (no allocation: fixed slots).
    pub(crate) fn region_refs(&self) -> [Option<&Region>; 3] {
        [Some(&self.table.storage), self.iter_buf.as_ref(), None]
    }

    /// The same regions, writable.
    pub(crate) fn region_muts(&mut self) -> [Option<&mut Region>; 3] {
        [Some(&mut self.table.storage), self.iter_buf.as_mut(), None]
    }
}

/// The kernel's `check_flags`.
fn check_flags(exists: bool, flags: u64) -> Result<(), Errno> {
    match (exists, flags) {
        (true, super::BPF_NOEXIST) => Err(Errno::EEXIST),
        (false, super::BPF_EXIST) => Err(Errno::ENOENT),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Map, MapLimits, BPF_ANY, BPF_EXIST, BPF_F_ZERO_SEED, BPF_NOEXIST};
    use super::*;

    fn map(kind: MapKind, max: u32) -> Map {
        let def = MapDef {
            kind,
            key_size: 4,
            value_size: 4,
            max_entries: max,
            flags: BPF_F_ZERO_SEED,
            name: "h".into(),
        };
        Map::create(def, 2, 0, &MapLimits::default()).unwrap()
    }

    fn keys(m: &Map) -> Vec<u32> {
        m.dump()
            .iter()
            .map(|(k, _)| u32::from_le_bytes(k[..4].try_into().unwrap()))
            .collect()
    }

    fn put(m: &mut Map, k: u32, v: u32, flags: u64) -> Result<(), Errno> {
        m.update(
            &k.to_le_bytes(),
            UpdateValue::Same(&v.to_le_bytes()),
            flags,
            0,
        )
    }

    #[test]
    fn zero_seed_order_1_to_10() {
        let mut m = map(MapKind::Hash, 64);
        for k in 1..=10 {
            put(&mut m, k, k, BPF_ANY).unwrap();
        }
        assert_eq!(keys(&m), [2, 8, 9, 3, 7, 1, 10, 4, 5, 6]);
    }

    #[test]
    fn update_moves_to_front_but_percpu_in_place() {
        // Keys 0 and 8 share bucket 0 of 8 buckets? Find two keys in one bucket instead.
        let mut m = map(MapKind::Hash, 8);
        let mut p = map(MapKind::PercpuHash, 8);
        let b = |k: u32| htab_hash(&k.to_le_bytes(), 0) & 7;
        let (k1, k2) = (1..100)
            .flat_map(|a| (a + 1..100).map(move |c| (a, c)))
            .find(|&(a, c)| b(a) == b(c))
            .unwrap();
        for mm in [&mut m, &mut p] {
            put(mm, k1, 1, BPF_ANY).unwrap();
            put(mm, k2, 2, BPF_ANY).unwrap();
            assert_eq!(keys(mm), [k2, k1]);
            put(mm, k1, 3, BPF_EXIST).unwrap();
        }
        assert_eq!(keys(&m), [k1, k2]);
        assert_eq!(keys(&p), [k2, k1]);
        assert_eq!(
            p.lookup_sys(&k1.to_le_bytes()),
            Some(DumpValue::PerCpu(vec![3u32.to_le_bytes().to_vec(); 2]))
        );
    }

    #[test]
    fn full_hash_errnos() {
        let mut m = map(MapKind::Hash, 4);
        for k in 0..4 {
            put(&mut m, k, k, BPF_NOEXIST).unwrap();
        }
        assert_eq!(put(&mut m, 9, 0, BPF_ANY), Err(Errno::E2BIG));
        // Replacing existing keys in a full map works, repeatedly, from both CPUs.
        for i in 0..10 {
            let c = i % 2;
            m.update(
                &2u32.to_le_bytes(),
                UpdateValue::Same(&[i as u8; 4]),
                BPF_ANY,
                c,
            )
            .unwrap();
        }
        assert_eq!(m.len(), 4);
        assert_eq!(put(&mut m, 1, 0, BPF_NOEXIST), Err(Errno::EEXIST));
        assert_eq!(put(&mut m, 7, 0, BPF_EXIST), Err(Errno::ENOENT));
        assert_eq!(put(&mut m, 1, 0, 4), Err(Errno::EINVAL));
        assert_eq!(m.delete(&7u32.to_le_bytes(), 0), Err(Errno::ENOENT));
        m.delete(&1u32.to_le_bytes(), 0).unwrap();
        put(&mut m, 9, 9, BPF_ANY).unwrap();
        assert_eq!(
            m.lookup_sys(&9u32.to_le_bytes()),
            Some(DumpValue::Single(vec![9, 0, 0, 0]))
        );
    }

    #[test]
    fn prog_update_percpu_touches_one_cpu() {
        let mut p = map(MapKind::PercpuHash, 8);
        p.update_from_prog(&5u32.to_le_bytes(), &7u32.to_le_bytes(), BPF_ANY, 1)
            .unwrap();
        assert_eq!(
            p.lookup_sys(&5u32.to_le_bytes()),
            Some(DumpValue::PerCpu(vec![vec![0; 4], vec![7, 0, 0, 0]]))
        );
        p.update_from_prog(&5u32.to_le_bytes(), &9u32.to_le_bytes(), BPF_ANY, 0)
            .unwrap();
        assert_eq!(
            p.lookup_sys(&5u32.to_le_bytes()),
            Some(DumpValue::PerCpu(vec![vec![9, 0, 0, 0], vec![7, 0, 0, 0]]))
        );
        let a = p.lookup_prog(&5u32.to_le_bytes(), 1).unwrap();
        assert_eq!(p.read_guest(a, 4), Some(&[7u8, 0, 0, 0][..]));
    }
}
