; expect: rejected
; errno: Permission denied
; error: R2 is of type sock but sock_common is expected
; map: sk_storage value=4
; source: net/core/bpf_sk_storage.c bpf_sk_storage_get_tracing_proto (allowed for BPF_TRACE_ITER by bpf_sk_storage_tracing_allowed): arg2_btf_id is struct sock_common, which struct sock holds at offset 0 only (btf_struct_ids_match) [S]
.map s, type=sk_storage, key=4, value=4, max_entries=0, flags=1
.section "iter/bpf_sk_storage_map"
prog:
    r2 = *(u64 *)(r1 +16)
    if r2 == 0x0 goto out
    r2 += 8
    r1 = map[s]
    r3 = 0
    r4 = 0
    call bpf_sk_storage_get
out:
    r0 = 0
    exit
