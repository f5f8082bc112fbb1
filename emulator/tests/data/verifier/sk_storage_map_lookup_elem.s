; expect: rejected
; errno: Invalid argument
; error: cannot pass map_type 24 into func bpf_map_lookup_elem#1
; map: sk_storage value=4
; source: kernel/bpf/verifier.c check_map_func_compatibility: an sk_storage map only goes to bpf_sk_storage_get/delete (and bpf_kptr_xchg) [S]
.map s, type=sk_storage, key=4, value=4, max_entries=0, flags=1
.section "iter/bpf_sk_storage_map"
prog:
    r1 = 0
    *(u32 *)(r10 -4) = r1
    r1 = map[s]
    r2 = r10
    r2 += -4
    call bpf_map_lookup_elem
    r0 = 0
    exit
