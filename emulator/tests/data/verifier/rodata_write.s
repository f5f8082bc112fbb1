; expect: rejected
; errno: Permission denied
; error: write into map forbidden, value_size=4 off=0 size=4
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: .rodata is BPF_F_RDONLY_PROG [S]
.rodata
konst:
    .long 5
.section "iter/bpf_map_elem"
prog:
    r1 = konst ll
    r2 = 1
    *(u32 *)(r1 +0) = r2
    r0 = 0
    exit
