; expect: rejected
; errno: Permission denied
; error: R2 type=scalar expected=ptr_, trusted_ptr_, rcu_ptr_
; map: sk_storage value=4
; source: net/core/bpf_sk_storage.c bpf_sk_storage_get_tracing_proto (allowed for BPF_TRACE_ITER by bpf_sk_storage_tracing_allowed): a NULL constant is no BTF pointer (ARG_PTR_TO_BTF_ID is not nullable) [S]
.map s, type=sk_storage, key=4, value=4, max_entries=0, flags=1
.section "iter/bpf_sk_storage_map"
prog:
    r1 = map[s]
    r2 = 0
    r3 = 0
    r4 = 0
    call bpf_sk_storage_get
    r0 = 0
    exit
