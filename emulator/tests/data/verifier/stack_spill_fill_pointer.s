; expect: loaded
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: a spilled pointer fills back as the same pointer
    r2 = r10
    r2 += -16
    *(u64 *)(r10 -8) = r2
    r3 = *(u64 *)(r10 -8)
    r4 = 5
    *(u64 *)(r3 +0) = r4
    r0 = *(u64 *)(r10 -16)
    r0 = 0
    exit
