; expect: rejected
; errno: Permission denied
; error: R1 min value is outside of the allowed memory range
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: map value bounds [S]
.bss
total:
    .zero 8
.section "iter/bpf_map_elem"
prog:
    r1 = total ll
    r0 = *(u64 *)(r1 +8)
    r0 = 0
    exit
