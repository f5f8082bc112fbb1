; expect: loaded
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: a callee writes through a pointer into the caller's stack
    r1 = r10
    r1 += -8
    call fill
    r0 = *(u64 *)(r10 -8)
    r0 = 0
    exit
fill:
    r2 = 3
    *(u64 *)(r1 +0) = r2
    r0 = 0
    exit
