//! Iterscope's emulator of Linux BPF map-element iterators (`SEC("iter/bpf_map_elem")`).
#![deny(missing_docs)]

pub mod asm;
pub mod elf;
pub mod errno;
pub mod helpers;
pub mod iter;
pub mod maps;
pub mod mem;

pub use errno::Errno;
