//! Arrays: `ARRAY` and `PERCPU_ARRAY`.
//!
//! Every index `0..max_entries` always exists. Values live in one [`Region`]:
//! `round_up(value_size, 8)` bytes per index, and per-CPU arrays have one such slot per CPU
//! for each index (index-major). The iterator's key is a copy of the index in a small region
//! the map owns (the kernel points `ctx->key` at its iterator's index); plain array values
//! are handed out in place (program writes persist), per-CPU values are copied into a buffer
//! (program writes are lost), as in the kernel. Out of scope: `BPF_F_MMAPABLE` mappings,
//! spin locks and other BTF fields.

use super::{
    check_size, round_up8, write_percpu_all, DumpValue, IterCursor, IterElem, MapDef, MapError,
    MapLimits, UpdateValue,
};
use crate::errno::Errno;
use crate::mem::Region;

/// `BPF_F_LOCK` (update flag).
const BPF_F_LOCK: u64 = 4;

/// An array or per-CPU array.
#[derive(Debug)]
pub(crate) struct ArrayMap {
    percpu: bool,
    value_size: usize,
    stride: usize,
    ncpus: usize,
    max_entries: u32,
    /// Bytes per index (stride, times ncpus for per-CPU arrays).
    elem_size: usize,
    storage: Region,
    key_buf: Region,
    iter_buf: Option<Region>,
}

impl ArrayMap {
    pub(crate) fn new(def: &MapDef, ncpus: u32, limits: &MapLimits) -> Result<Self, MapError> {
        let percpu = def.kind.is_percpu();
        let value_size = def.value_size as usize;
        let stride = round_up8(value_size);
        let elem_size = if percpu {
            stride * ncpus as usize
        } else {
            stride
        };
        let bytes = check_size(
            &def.name,
            &[
                (u64::from(def.max_entries), elem_size as u64),
                (u64::from(percpu), elem_size as u64),
            ],
            limits,
        )?;
        debug_assert!(bytes >= elem_size);
        Ok(ArrayMap {
            percpu,
            value_size,
            stride,
            ncpus: ncpus as usize,
            max_entries: def.max_entries,
            elem_size,
            storage: Region::new(def.max_entries as usize * elem_size),
            key_buf: Region::new(8),
            iter_buf: percpu.then(|| Region::new(elem_size)),
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.max_entries as usize
    }

    fn index(key: &[u8]) -> Option<u32> {
        Some(u32::from_le_bytes(key.try_into().ok()?))
    }

    fn elem_mut(&mut self, index: u32) -> &mut [u8] {
        let off = index as usize * self.elem_size;
        &mut self.storage.bytes_mut()[off..off + self.elem_size]
    }

    /// `bpf_percpu_array_update` / `array_map_update_elem` from the syscall (which rejects
    /// `BPF_F_LOCK` first, since no array here has a spin lock).
    pub(crate) fn update_sys(
        &mut self,
        key: &[u8],
        value: &UpdateValue<'_>,
        flags: u64,
    ) -> Result<(), Errno> {
        if flags & BPF_F_LOCK != 0 || flags > super::BPF_EXIST {
            return Err(Errno::EINVAL);
        }
        let index = Self::index(key).ok_or(Errno::EINVAL)?;
        if index >= self.max_entries {
            return Err(Errno::E2BIG);
        }
        if flags == super::BPF_NOEXIST {
            return Err(Errno::EEXIST);
        }
        let (percpu, vs) = (self.percpu, self.value_size);
        let dst = self.elem_mut(index);
        if percpu {
            write_percpu_all(dst, value, vs);
        } else {
            dst[..vs].copy_from_slice(super::single_value(value));
        }
        Ok(())
    }

    /// `array_map_update_elem` as the helper runs it: per-CPU arrays update `cpu`'s copy.
    pub(crate) fn update_prog(
        &mut self,
        key: &[u8],
        value: &[u8],
        flags: u64,
        cpu: u32,
    ) -> Result<(), Errno> {
        if flags & !BPF_F_LOCK > super::BPF_EXIST {
            return Err(Errno::EINVAL);
        }
        let index = Self::index(key).ok_or(Errno::EINVAL)?;
        if index >= self.max_entries {
            return Err(Errno::E2BIG);
        }
        if flags & super::BPF_NOEXIST != 0 {
            return Err(Errno::EEXIST);
        }
        if flags & BPF_F_LOCK != 0 {
            return Err(Errno::EINVAL);
        }
        let off = if self.percpu {
            cpu as usize * self.stride
        } else {
            0
        };
        let vs = self.value_size;
        self.elem_mut(index)[off..off + vs].copy_from_slice(value);
        Ok(())
    }

    pub(crate) fn lookup_prog(&mut self, key: &[u8], cpu: u32) -> Option<u64> {
        let index = Self::index(key).filter(|&i| i < self.max_entries)?;
        let cpu_off = if self.percpu {
            cpu as usize * self.stride
        } else {
            0
        };
        Some(self.storage.addr() + (index as usize * self.elem_size + cpu_off) as u64)
    }

    fn dump_value(&self, index: u32) -> DumpValue {
        let off = index as usize * self.elem_size;
        let bytes = self.storage.bytes();
        if self.percpu {
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
        let index = Self::index(key).filter(|&i| i < self.max_entries)?;
        Some(self.dump_value(index))
    }

    pub(crate) fn dump(&self) -> Vec<(Vec<u8>, DumpValue)> {
        (0..self.max_entries)
            .map(|i| (i.to_le_bytes().to_vec(), self.dump_value(i)))
            .collect()
    }

    /// `bpf_array_map_seq_start` / `_show`: the element at `cur.index`, if any.
    pub(crate) fn iter_at(&mut self, cur: &mut IterCursor) -> Option<IterElem> {
        if cur.index >= self.max_entries {
            return None;
        }
        self.key_buf.bytes_mut()[..4].copy_from_slice(&cur.index.to_le_bytes());
        let off = cur.index as usize * self.elem_size;
        let value_addr = match &mut self.iter_buf {
            Some(buf) => {
                buf.bytes_mut()
                    .copy_from_slice(&self.storage.bytes()[off..off + self.elem_size]);
                buf.addr()
            }
            None => self.storage.addr() + off as u64,
        };
        Some(IterElem {
            key_addr: self.key_buf.addr(),
            value_addr,
        })
    }

    /// The regions a program can see (no allocation: fixed slots).
    pub(crate) fn region_refs(&self) -> [Option<&Region>; 3] {
        [
            Some(&self.storage),
            Some(&self.key_buf),
            self.iter_buf.as_ref(),
        ]
    }

    /// The same regions, writable.
    pub(crate) fn region_muts(&mut self) -> [Option<&mut Region>; 3] {
        [
            Some(&mut self.storage),
            Some(&mut self.key_buf),
            self.iter_buf.as_mut(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Map, MapKind, BPF_ANY, BPF_EXIST, BPF_NOEXIST};
    use super::*;

    fn arr(kind: MapKind, vs: u32, max: u32) -> Map {
        let def = MapDef {
            kind,
            key_size: 4,
            value_size: vs,
            max_entries: max,
            flags: 0,
            name: "a".into(),
        };
        Map::create(def, 2, 0, &MapLimits::default()).unwrap()
    }

    #[test]
    fn array_errnos() {
        let mut a = arr(MapKind::Array, 8, 6);
        let v = UpdateValue::Same(&[1; 8]);
        assert_eq!(
            a.update(&6u32.to_le_bytes(), v, BPF_ANY, 0),
            Err(Errno::E2BIG)
        );
        assert_eq!(
            a.update(&1u32.to_le_bytes(), v, BPF_NOEXIST, 0),
            Err(Errno::EEXIST)
        );
        assert_eq!(a.update(&1u32.to_le_bytes(), v, 3, 0), Err(Errno::EINVAL));
        assert_eq!(a.update(&1u32.to_le_bytes(), v, BPF_EXIST, 0), Ok(()));
        assert_eq!(a.delete(&1u32.to_le_bytes(), 0), Err(Errno::EINVAL));
        assert_eq!(
            a.update_from_prog(&9u32.to_le_bytes(), &[0; 8], 5, 0),
            Err(Errno::E2BIG)
        );
        assert_eq!(
            a.update_from_prog(&1u32.to_le_bytes(), &[0; 8], 5, 0),
            Err(Errno::EEXIST)
        );
        assert_eq!(
            a.update_from_prog(&1u32.to_le_bytes(), &[0; 8], 4, 0),
            Err(Errno::EINVAL)
        );
        assert_eq!(a.len(), 6);
        assert!(a.lookup_prog(&6u32.to_le_bytes(), 0).is_none());
    }

    #[test]
    fn array_iteration_writes_persist_percpu_do_not() {
        let mut a = arr(MapKind::Array, 8, 3);
        let mut cur = IterCursor::default();
        let mut seen = 0;
        let mut e = a.iter_start(&mut cur);
        while let Some(el) = e {
            let k = a.read_guest(el.key_addr, 4).unwrap().to_vec();
            assert_eq!(k, (seen as u32).to_le_bytes());
            a.write_guest(el.value_addr, 8).unwrap()[0] = 7;
            seen += 1;
            e = a.iter_next(&mut cur);
        }
        assert_eq!(seen, 3);
        assert!(a
            .dump()
            .iter()
            .all(|(_, v)| *v == DumpValue::Single(vec![7, 0, 0, 0, 0, 0, 0, 0])));

        let mut p = arr(MapKind::PercpuArray, 4, 3);
        let vals = vec![vec![1, 0, 0, 0], vec![0xe8, 3, 0, 0, 5, 0, 0, 0]];
        p.update(&2u32.to_le_bytes(), UpdateValue::PerCpu(&vals), BPF_ANY, 0)
            .unwrap();
        let mut cur = IterCursor::default();
        let mut el = p.iter_start(&mut cur).unwrap();
        el = p.iter_next(&mut cur).map_or(el, |e| e);
        el = p.iter_next(&mut cur).map_or(el, |e| e);
        assert_eq!(p.iter_value_size(), 16);
        // Padding of CPU 1's slot is copied too.
        assert_eq!(
            p.read_guest(el.value_addr, 16).unwrap(),
            [1, 0, 0, 0, 0, 0, 0, 0, 0xe8, 3, 0, 0, 5, 0, 0, 0]
        );
        p.write_guest(el.value_addr, 4).unwrap()[0] = 99;
        assert_eq!(
            p.lookup_sys(&2u32.to_le_bytes()),
            Some(DumpValue::PerCpu(vec![
                vec![1, 0, 0, 0],
                vec![0xe8, 3, 0, 0]
            ]))
        );
        assert!(p.iter_next(&mut cur).is_none());
    }
}
