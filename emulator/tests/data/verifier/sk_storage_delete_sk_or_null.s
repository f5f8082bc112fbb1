; expect: rejected
; errno: Permission denied
; error: R2 type=ptr_or_null_ expected=ptr_, trusted_ptr_, rcu_ptr_
; map: sk_storage value=4
; source: net/core/bpf_sk_storage.c bpf_sk_storage_delete_tracing_proto: arg2 ARG_PTR_TO_BTF_ID, not nullable [S]
.map s, type=sk_storage, key=4, value=4, max_entries=0, flags=1
.section "iter/bpf_sk_storage_map"
prog:
    r2 = *(u64 *)(r1 +16)
    r1 = map[s]
    call bpf_sk_storage_delete
    r0 = 0
    exit
