//! Socket local storage: `BPF_MAP_TYPE_SK_STORAGE`.
//!
//! The map holds at most one value per socket of the scenario's [`SocketTable`]. From user
//! space its key is the socket's file descriptor (an `int`, see [`crate::sock::SOCK_FD_BASE`]);
//! the iterator hands the program the socket (`ctx->sk`) and its value (`ctx->value`, written
//! in place: writes persist). The map owns two regions: the sockets' `struct sock` images
//! (one [`SOCK_SIZE`] slot per socket, written once at creation, which `ctx->sk` points
//! into) and the values (one `round_up(value_size, 8)` slot per socket).
//!
//! Order: Linux visits storage elements in the order of a hash of their kernel addresses, so
//! the order changes from run to run. The emulator visits the newest element first (reverse
//! creation order; an update counts as a new element, because the kernel replaces the
//! element on update), which is deterministic; scenarios compare as multisets
//! (`order_insensitive`).
//!
//! Programs reach the storage through `bpf_sk_storage_get` (create with
//! `BPF_SK_STORAGE_GET_F_CREATE`) and `bpf_sk_storage_delete`, given a socket pointer
//! ([`SkStorageMap::socket_at`]). A deleted element stays in the iteration order as a
//! tombstone that the iterator skips, so an iterator deleting the element it is visiting
//! still visits every other one, as Linux's RCU list walk does (the selftest
//! `bpf_sk_storage_delete` empties the map that way).
//!
//! Out of scope: `BPF_F_CLONE` on accept, `BPF_F_LOCK` updates, storage of sockets that are
//! not in the scenario (an fd that names no socket is `EBADF`), and the kernel's
//! cache-slot bookkeeping.

use super::{check_size, round_up8, DumpValue, IterCursor, IterElem, MapDef, MapError, MapLimits};
use crate::errno::Errno;
use crate::maps::{UpdateValue, BPF_ANY, BPF_EXIST, BPF_NOEXIST};
use crate::mem::Region;
use crate::sock::{SocketTable, SOCK_FD_BASE, SOCK_SIZE};

/// The user-space key of socket `i`: its emulated fd, little-endian.
pub(crate) fn fd_key(i: usize) -> [u8; 4] {
    SOCK_FD_BASE.saturating_add(i as u32).to_le_bytes()
}

/// An sk_storage map over a fixed socket table.
#[derive(Debug)]
pub(crate) struct SkStorageMap {
    value_size: usize,
    stride: usize,
    nsock: usize,
    socks: Region,
    values: Region,
    /// Whether each socket has storage.
    present: Vec<bool>,
    /// Sockets with storage, newest first (the iteration order); deleted ones stay as
    /// tombstones (`present` false) until the socket gets storage again.
    order: Vec<u32>,
}

impl SkStorageMap {
    pub(crate) fn new(
        def: &MapDef,
        sockets: &SocketTable,
        limits: &MapLimits,
    ) -> Result<Self, MapError> {
        let nsock = sockets.len();
        let value_size = def.value_size as usize;
        let stride = round_up8(value_size);
        check_size(
            &def.name,
            &[(nsock as u64, (stride + SOCK_SIZE) as u64)],
            limits,
        )?;
        let mut socks = Region::new(nsock.max(1) * SOCK_SIZE);
        for (i, s) in sockets.sockets.iter().enumerate() {
            if let Some(slot) = socks.get_mut(i * SOCK_SIZE, SOCK_SIZE) {
                slot.copy_from_slice(&s.image());
            }
        }
        Ok(SkStorageMap {
            value_size,
            stride,
            nsock,
            socks,
            values: Region::new(nsock.max(1) * stride),
            present: vec![false; nsock],
            order: Vec::with_capacity(nsock),
        })
    }

    /// The socket index a user-space key (an fd) names.
    fn socket_of(&self, key: &[u8]) -> Result<usize, Errno> {
        let fd = <[u8; 4]>::try_from(key).map_err(|_| Errno::EINVAL)?;
        let i = u32::from_le_bytes(fd)
            .checked_sub(SOCK_FD_BASE)
            .ok_or(Errno::EBADF)? as usize;
        if i < self.nsock {
            Ok(i)
        } else {
            Err(Errno::EBADF)
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.present.iter().filter(|&&p| p).count()
    }

    /// The socket whose `struct sock` image starts at guest address `addr`.
    pub(crate) fn socket_at(&self, addr: u64) -> Option<usize> {
        let off = addr.checked_sub(self.socks.addr())? as usize;
        (off.is_multiple_of(SOCK_SIZE) && off / SOCK_SIZE < self.nsock).then_some(off / SOCK_SIZE)
    }

    /// `bpf_sk_storage_get(map, sk, value, flags)` for socket `i`: the guest address of its
    /// value, created from `init` (zero-filled when `None`) if `create` and absent.
    pub(crate) fn get(&mut self, i: usize, init: Option<&[u8]>, create: bool) -> Option<u64> {
        if !*self.present.get(i)? {
            if !create {
                return None;
            }
            let zero;
            let v = match init {
                Some(v) => v,
                None => {
                    zero = vec![0u8; self.value_size];
                    &zero
                }
            };
            self.update(&fd_key(i), &UpdateValue::Same(v), BPF_NOEXIST)
                .ok()?;
        }
        Some(self.values.addr() + (i * self.stride) as u64)
    }

    /// `BPF_MAP_UPDATE_ELEM(fd, value, flags)`: `EEXIST` for `BPF_NOEXIST` on a socket with
    /// storage, `ENOENT` for `BPF_EXIST` on one without.
    pub(crate) fn update(
        &mut self,
        key: &[u8],
        value: &UpdateValue<'_>,
        flags: u64,
    ) -> Result<(), Errno> {
        let i = self.socket_of(key)?;
        if !matches!(flags, BPF_ANY | BPF_NOEXIST | BPF_EXIST) {
            return Err(Errno::EINVAL);
        }
        let v = super::single_value(value);
        if v.len() != self.value_size {
            return Err(Errno::EINVAL);
        }
        let exists = self.present[i];
        if exists && flags == BPF_NOEXIST {
            return Err(Errno::EEXIST);
        }
        if !exists && flags == BPF_EXIST {
            return Err(Errno::ENOENT);
        }
        let slot = self
            .values
            .get_mut(i * self.stride, self.value_size)
            .ok_or(Errno::EINVAL)?;
        slot.copy_from_slice(v);
        // A new element (the kernel also replaces the element on update): it goes first.
        self.order.retain(|&s| s as usize != i);
        self.order.insert(0, i as u32);
        self.present[i] = true;
        Ok(())
    }

    /// `BPF_MAP_DELETE_ELEM(fd)`: `ENOENT` without storage.
    pub(crate) fn delete(&mut self, key: &[u8]) -> Result<(), Errno> {
        let i = self.socket_of(key)?;
        if !self.present[i] {
            return Err(Errno::ENOENT);
        }
        // The element stays in `order` as a tombstone: an iterator standing on it moves on to
        // the element after it.
        self.present[i] = false;
        if let Some(slot) = self.values.get_mut(i * self.stride, self.stride) {
            slot.fill(0);
        }
        Ok(())
    }

    /// `BPF_MAP_LOOKUP_ELEM(fd)`: the value, or `None` (`ENOENT`) without storage.
    pub(crate) fn lookup_sys(&self, key: &[u8]) -> Option<DumpValue> {
        let i = self.socket_of(key).ok()?;
        self.value_of(i)
    }

    /// The value of socket `i`, if it has storage.
    pub(crate) fn value_of(&self, i: usize) -> Option<DumpValue> {
        if !*self.present.get(i)? {
            return None;
        }
        let v = self.values.get(i * self.stride, self.value_size)?;
        Some(DumpValue::Single(v.to_vec()))
    }

    /// The element at position `cur.index` of the iteration order.
    pub(crate) fn iter_at(&self, cur: &mut IterCursor) -> Option<IterElem> {
        let mut i = *self.order.get(cur.index as usize)? as usize;
        while !self.present[i] {
            cur.index = cur.index.saturating_add(1);
            i = *self.order.get(cur.index as usize)? as usize;
        }
        cur.cur = Some(i as u32);
        Some(IterElem {
            key_addr: self.socks.addr() + (i * SOCK_SIZE) as u64,
            value_addr: self.values.addr() + (i * self.stride) as u64,
        })
    }

    /// Every element in iteration order, keyed by fd.
    pub(crate) fn dump(&self) -> Vec<(Vec<u8>, DumpValue)> {
        self.order
            .iter()
            .filter_map(|&i| Some((fd_key(i as usize).to_vec(), self.value_of(i as usize)?)))
            .collect()
    }

    pub(crate) fn region_refs(&self) -> [Option<&Region>; 3] {
        [Some(&self.values), Some(&self.socks), None]
    }

    pub(crate) fn region_muts(&mut self) -> [Option<&mut Region>; 3] {
        [Some(&mut self.values), Some(&mut self.socks), None]
    }
}
