; expect: rejected
; errno: Permission denied
; error: invalid indirect read from stack R4 off -8+0 size 8
; source: helper memory arguments must be initialised [S]
.rodata
fmt:
    .asciz "%u\n"
.section "iter/bpf_map_elem"
prog:
    r6 = *(u64 *)(r1 +0)
    r1 = *(u64 *)(r6 +0)
    r2 = fmt ll
    r3 = 4
    r4 = r10
    r4 += -8
    r5 = 8
    call bpf_seq_printf
    r0 = 0
    exit
