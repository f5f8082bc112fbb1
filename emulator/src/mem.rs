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

    /// Whether an access at `addr` is what rbpf's allowed-memory check accepts for this
    /// region: its *start* lies in the logical bytes (the end may run into the padding).
    pub fn starts_in(&self, addr: u64) -> bool {
        addr >= self.addr() && addr - self.addr() < self.len as u64
    }

    /// `size` bytes at offset `off`, where `off` lies in the logical bytes and the end may
    /// run into the padding (what rbpf lets a program read); `None` beyond the padding.
    pub fn get_padded(&self, off: usize, size: usize) -> Option<&[u8]> {
        let end = off.checked_add(size)?;
        if off >= self.len || end > self.len + REGION_PAD {
            return None;
        }
        // SAFETY: off..end lies inside the len + REGION_PAD initialised bytes of the
        // allocation, which lives as long as self; see `bytes` for the aliasing argument.
        Some(unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(off), size) })
    }

    /// Writable form of [`Region::get_padded`].
    pub fn get_padded_mut(&mut self, off: usize, size: usize) -> Option<&mut [u8]> {
        let end = off.checked_add(size)?;
        if off >= self.len || end > self.len + REGION_PAD {
            return None;
        }
        // SAFETY: as in `get_padded`; `&mut self` makes this the only Rust borrow.
        Some(unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr().add(off), size) })
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
        r.get_mut(8, 8)
            .unwrap()
            .copy_from_slice(&7u64.to_le_bytes());
        assert_eq!(r.addr(), a, "a region never moves");
        assert_eq!(r.get(8, 8).unwrap(), &7u64.to_le_bytes());
        assert!(r.get(20, 8).is_none());
        assert!(r.contains(a + 16, 8));
        assert!(!r.contains(a + 17, 8));
        assert!(!r.contains(a.wrapping_sub(1), 1));
    }
}

/// A window onto memory the emulator does not own but that is live for the duration of one
/// program execution: rbpf's own 512-byte stack, whose address the program reveals to the
/// stack probe the loader prepends (see `vm`). Helpers use it to read format arguments, keys
/// and buffers the program keeps on its stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostWindow {
    start: u64,
    len: usize,
}

impl HostWindow {
    /// The window `start..start+len`.
    ///
    /// # Safety
    ///
    /// The caller guarantees the bytes are allocated, initialised and not accessed through
    /// any Rust reference while the window is in use, until [`HostWindow`] is dropped or
    /// forgotten (the VM clears it when the execution that produced it returns).
    pub unsafe fn new(start: u64, len: usize) -> Self {
        HostWindow { start, len }
    }

    /// Whether `addr..addr+size` lies inside the window.
    pub fn contains(&self, addr: u64, size: usize) -> bool {
        addr >= self.start
            && addr
                .checked_add(size as u64)
                .is_some_and(|end| end <= self.start + self.len as u64)
    }

    /// `size` bytes at `addr`, if inside the window.
    pub fn get(&self, addr: u64, size: usize) -> Option<&[u8]> {
        if !self.contains(addr, size) {
            return None;
        }
        // SAFETY: inside the window, whose validity the constructor's caller guarantees.
        Some(unsafe { std::slice::from_raw_parts(addr as *const u8, size) })
    }

    /// Writable `size` bytes at `addr`, if inside the window.
    pub fn get_mut(&mut self, addr: u64, size: usize) -> Option<&mut [u8]> {
        if !self.contains(addr, size) {
            return None;
        }
        // SAFETY: as in `get`; `&mut self` keeps this the only borrow made through the window.
        Some(unsafe { std::slice::from_raw_parts_mut(addr as *mut u8, size) })
    }
}

/// A window onto a region the emulator owns, for the tracing interpreter's stack: helpers
/// reach it exactly as they reach rbpf's stack.
pub(crate) fn region_window(r: &mut Region) -> HostWindow {
    // SAFETY: the region's logical bytes are allocated and initialised for as long as the
    // region lives; the tracer installs the window only for one execution, during which it
    // takes `&mut` of the region (so no other Rust borrow exists) and touches the bytes
    // only between helper calls, and it clears the window before the borrow ends.
    unsafe { HostWindow::new(r.addr(), r.len()) }
}

/// Bytes of rbpf 0.4.1's interpreter stack (`ebpf::STACK_SIZE`).
pub const RBPF_STACK_SIZE: usize = 512;

/// The window onto rbpf's stack for an execution whose entry `r10` is `r10`.
///
/// Only the VM's stack probe calls this, with the `r10` value the loader-inserted prologue
/// (`r2 = r10; call probe`) passes at instruction 1 of every execution; the loader refuses
/// any other call to the probe id, so `r10` is always rbpf's own frame pointer: the end of
/// the 512-byte stack vector rbpf allocated for that execution. The window is cleared when
/// the execution returns (see `vm::Vm::run`).
pub(crate) fn rbpf_stack_window(r10: u64) -> HostWindow {
    // SAFETY: per the contract above, r10 - 512 .. r10 is rbpf's live, initialised stack
    // for the duration of the execution; rbpf only touches it between helper calls, and
    // helpers run synchronously inside the interpreter loop.
    unsafe { HostWindow::new(r10.wrapping_sub(RBPF_STACK_SIZE as u64), RBPF_STACK_SIZE) }
}
