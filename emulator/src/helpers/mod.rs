//! BPF helpers: uapi helper ids and names ([`ids`]) and the `bpf_seq_printf` / `bpf_snprintf`
//! format engine ([`printf`]). [`runtime`] holds the per-run world
//! (maps, seq_file buffer, virtual CPU) and the emulated helpers themselves; prototypes for
//! the verifier are not here yet.
pub mod ids;
pub mod printf;
pub mod runtime;
