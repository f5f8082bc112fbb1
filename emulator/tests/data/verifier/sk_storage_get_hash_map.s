; expect: rejected
; errno: Invalid argument
; error: cannot pass map_type 1 into func bpf_sk_storage_get#107
; map: sk_storage value=4
; source: kernel/bpf/verifier.c check_map_func_compatibility: bpf_sk_storage_get/delete take BPF_MAP_TYPE_SK_STORAGE only [S]
.map h, type=hash, key=4, value=4, max_entries=4
.section "iter/bpf_sk_storage_map"
prog:
    r6 = *(u64 *)(r1 +16)
    if r6 == 0x0 goto out
    r1 = map[h]
    r2 = r6
    r3 = 0
    r4 = 0
    call bpf_sk_storage_get
out:
    r0 = 0
    exit
