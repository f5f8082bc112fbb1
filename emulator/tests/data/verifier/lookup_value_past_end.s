; expect: rejected
; errno: Permission denied
; error: R0 min value is outside of the allowed memory range
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: map value accesses past the value size
.map h, type=hash, key=4, value=8, max_entries=4
.section "iter/bpf_map_elem"
prog:
    r2 = 0
    *(u32 *)(r10 -4) = r2
    r1 = map[h]
    r2 = r10
    r2 += -4
    call bpf_map_lookup_elem
    if r0 == 0x0 goto out
    r1 = 1
    *(u32 *)(r0 +6) = r1
out:
    r0 = 0
    exit
