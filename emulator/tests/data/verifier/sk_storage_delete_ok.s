; expect: loaded
; map: sk_storage value=4
; source: net/core/bpf_sk_storage.c bpf_sk_storage_delete_tracing_proto: map_ptr, ptr_sock; returns an integer [S]
.map s, type=sk_storage, key=4, value=4, max_entries=0, flags=1
.section "iter/bpf_sk_storage_map"
prog:
    r2 = *(u64 *)(r1 +16)
    if r2 == 0x0 goto out
    r1 = map[s]
    call bpf_sk_storage_delete
out:
    r0 = 0
    exit
