; expect: rejected
; errno: Permission denied
; error: R0 invalid mem access 'map_value_or_null'
; map: sk_storage value=4
; source: net/core/bpf_sk_storage.c bpf_sk_storage_get_tracing_proto (allowed for BPF_TRACE_ITER by bpf_sk_storage_tracing_allowed): ret_type RET_PTR_TO_MAP_VALUE_OR_NULL [S]
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
    r1 = *(u32 *)(r0 +0)
out:
    r0 = 0
    exit
