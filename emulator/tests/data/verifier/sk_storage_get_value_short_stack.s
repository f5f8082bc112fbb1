; expect: rejected
; errno: Invalid argument
; error: invalid read from stack R3 off=-2 size=4
; map: sk_storage value=4
; source: net/core/bpf_sk_storage.c bpf_sk_storage_get_tracing_proto (allowed for BPF_TRACE_ITER by bpf_sk_storage_tracing_allowed): arg3 must have value_size bytes (check_helper_mem_access on the stack; message and errno as recorded for update_value_short_stack) [S]
.map s, type=sk_storage, key=4, value=4, max_entries=0, flags=1
.section "iter/bpf_sk_storage_map"
prog:
    r6 = *(u64 *)(r1 +16)
    if r6 == 0x0 goto out
    r1 = map[s]
    r2 = r6
    r3 = r10
    r3 += -2
    r4 = 1
    call bpf_sk_storage_get
out:
    r0 = 0
    exit
