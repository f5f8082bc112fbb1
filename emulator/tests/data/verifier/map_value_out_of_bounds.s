; expect: rejected
; errno: Permission denied
; error: invalid access to map value, value_size=8 off=8 size=8
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
