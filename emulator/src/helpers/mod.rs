//! BPF helpers: uapi helper ids and names ([`ids`]) and the `bpf_seq_printf` / `bpf_snprintf`
//! format engine ([`printf`]). Helper dispatch, prototypes and the seq_file buffer are not here.
pub mod ids;
pub mod printf;
