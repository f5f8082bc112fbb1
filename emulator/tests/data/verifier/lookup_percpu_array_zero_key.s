; expect: loaded
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: a per-CPU array lookup whose key bytes are all zero (STACK_ZERO) is never NULL
.map pa, type=percpu_array, key=4, value=8, max_entries=2
.section "iter/bpf_map_elem"
prog:
    *(u32 *)(r10 -4) = 0
    r1 = map[pa]
    r2 = r10
    r2 += -4
    call bpf_map_lookup_elem
    r1 = *(u64 *)(r0 +0)
    r0 = 0
    exit
