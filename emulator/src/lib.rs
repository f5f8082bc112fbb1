//! Iterscope's emulator of Linux BPF map-element iterators (`SEC("iter/bpf_map_elem")`) and
//! socket-local-storage iterators (`SEC("iter/bpf_sk_storage_map")`).
//!
//! It loads clang-compiled BPF objects ([`elf`]), models the six map types the iterator
//! visits with Linux's iteration order and LRU eviction, plus sk_storage over an emulated
//! socket table ([`maps`], [`sock`]), emulates the helpers
//! iterator programs call ([`helpers`]), runs programs on the rbpf interpreter ([`vm`]) and
//! drives them through the kernel's `bpf_seq_read` protocol ([`iter`]). [`scenario`] runs
//! the kernel oracle's case files end to end; [`live`] runs them a budget of program calls
//! at a time for an interactive UI, and [`export`] writes the `bpftool` commands that
//! reproduce a scenario on a real kernel.
//!
//! ```no_run
//! use iterscope_emulator::scenario::{run_scenario, RunOptions, Scenario};
//! let sc = Scenario::from_json(&std::fs::read_to_string("examples/hash_dump.json")?)?;
//! let obj = std::fs::read("examples/hash_dump.bpf.o")?;
//! let report = run_scenario(&sc, &obj, "hash_dump", &RunOptions::default())?;
//! print!("{}", String::from_utf8_lossy(report.output()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod asm;
pub mod bench;
pub mod elf;
pub mod errno;
pub mod error;
pub mod export;
pub mod helpers;
pub mod iter;
pub mod live;
pub mod maps;
pub mod mem;
pub mod scenario;
pub mod sock;
pub mod trace;
pub mod verifier;
pub mod vm;

pub use errno::Errno;
pub use error::Error;
pub use live::{Advance, CallLog, CallView, LiveRun};
