; expect: loaded
; map: sk_storage value=4
; source: net/core/bpf_sk_storage.c bpf_sk_storage_get_tracing_proto (allowed for BPF_TRACE_ITER by bpf_sk_storage_tracing_allowed): map_ptr of an sk_storage map, ctx->sk after its NULL check (ptr_sock), NULL value, BPF_SK_STORAGE_GET_F_CREATE; r0 is map_value_or_null of that map [S]
.map s, type=sk_storage, key=4, value=4, max_entries=0, flags=1
.section "iter/bpf_sk_storage_map"
prog:
    r6 = *(u64 *)(r1 +16)
    if r6 == 0x0 goto out
    r1 = map[s]
    r2 = r6
    r3 = 0
    r4 = 1
    call bpf_sk_storage_get
    if r0 == 0x0 goto out
    r1 = *(u32 *)(r0 +0)
    r1 += 1
    *(u32 *)(r0 +0) = r1
out:
    r0 = 0
    exit
