; expect: rejected
; errno: Permission denied
; error: R0 pointer arithmetic on map_value_or_null prohibited, null-check it first
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: arithmetic on map_value_or_null before the NULL check
.map h, type=hash, key=4, value=8, max_entries=4
.section "iter/bpf_map_elem"
prog:
    r2 = 0
    *(u32 *)(r10 -4) = r2
    r1 = map[h]
    r2 = r10
    r2 += -4
    call bpf_map_lookup_elem
    r0 += 4
    r0 = 0
    exit
