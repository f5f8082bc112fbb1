//! Guest memory: fixed-size byte regions whose host addresses are the guest's pointers.
//!
//! rbpf executes loads and stores by dereferencing the 64-bit register value as a host
//! address, so every byte a program may touch (context, `bpf_iter_meta`, the `struct bpf_map`
//! model, keys, values, globals, map storage) lives in a [`Region`]: one heap allocation made
//! once, zeroed, never resized or moved, and padded with [`REGION_PAD`] spare bytes because
//! rbpf checks only the *start* address of an access against its allowed ranges.
//!
//! All `unsafe` of the crate is in this module. A region is written both by rbpf (through raw
//! pointers while a program runs) and by Rust code (helpers, the iterator driver, map
//! operations) between or inside helper calls — never at the same time, since the VM is
//! single-threaded and helpers run synchronously inside it. To keep that sound the region
//! never hands out a reference that outlives a call: every access goes through the raw base
//! pointer.
//!
//! Out of scope: access checks by type or permission (the verifier's job) and any notion of
//! guest virtual addresses other than host addresses.

use std::ptr::NonNull;

/// Spare bytes after each region's logical end, so an access that rbpf accepts because it
/// *starts* inside the region cannot run past the allocation (the widest access is 8 bytes).
pub const REGION_PAD: usize = 16;

/// A zeroed, fixed-size, never-moving block of guest memory.
#[derive(Debug)]
pub struct Region {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: a Region owns its allocation exclusively (like a Box<[u8]>); the raw pointer is
// only an implementation detail of that ownership.
unsafe impl Send for Region {}

impl Region {
    /// Allocates `len` zeroed bytes (plus the padding).
    pub fn new(len: usize) -> Self {
        let boxed: Box<[u8]> = vec![0u8; len + REGION_PAD].into_boxed_slice();
        let raw = Box::into_raw(boxed);
        // SAFETY: Box::into_raw never returns null.
        let ptr = unsafe { NonNull::new_unchecked(raw.cast::<u8>()) };
        Region { ptr, len }
    }

    /// Logical length in bytes (without the padding).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the region has no logical bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Guest (= host) address of the first byte.
    pub fn addr(&self) -> u64 {
        self.ptr.as_ptr() as u64
    }

    /// The guest address range that rbpf must accept (the logical bytes).
    pub fn range(&self) -> std::ops::Range<u64> {
        self.addr()..self.addr() + self.len as u64
    }

    /// Whether `addr..addr+size` lies inside the logical bytes.
    pub fn contains(&self, addr: u64, size: usize) -> bool {
        let start = self.addr();
        addr >= start
            && addr
                .checked_add(size as u64)
                .is_some_and(|end| end <= start + self.len as u64)
    }

    /// The logical bytes, read-only.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the allocation holds len + REGION_PAD initialised bytes and lives as long as
        // self; no VM write happens while this shared borrow of self exists because the VM
        // only runs inside `vm::run`, which does not hold region borrows across execution.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The logical bytes, writable.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`, and `&mut self` makes this the only Rust borrow.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// `size` bytes at offset `off`, or `None` when out of range.
    pub fn get(&self, off: usize, size: usize) -> Option<&[u8]> {
        self.bytes().get(off..off.checked_add(size)?)
    }

    /// Writable `size` bytes at offset `off`, or `None` when out of range.
    pub fn get_mut(&mut self, off: usize, size: usize) -> Option<&mut [u8]> {
        self.bytes_mut().get_mut(off..off.checked_add(size)?)
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        let slice = std::ptr::slice_from_raw_parts_mut(self.ptr.as_ptr(), self.len + REGION_PAD);
        // SAFETY: ptr/len + REGION_PAD come from Box::into_raw of exactly this slice in `new`.
        drop(unsafe { Box::from_raw(slice) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_fixed_and_bounds_checked() {
        let mut r = Region::new(24);
        assert_eq!(r.len(), 24);
        assert!(r.bytes().iter().all(|&b| b == 0));
        let a = r.addr();
        r.get_mut(8, 8).unwrap().copy_from_slice(&7u64.to_le_bytes());
        assert_eq!(r.addr(), a, "a region never moves");
        assert_eq!(r.get(8, 8).unwrap(), &7u64.to_le_bytes());
        assert!(r.get(20, 8).is_none());
        assert!(r.contains(a + 16, 8));
        assert!(!r.contains(a + 17, 8));
        assert!(!r.contains(a.wrapping_sub(1), 1));
    }
}
