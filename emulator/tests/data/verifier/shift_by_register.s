; expect: loaded
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: shifts by an unknown register are allowed
    call bpf_get_prandom_u32
    r1 = 1
    r1 <<= r0
    r1 s>>= r0
    w1 >>= w0
    r0 = 0
    exit
