; expect: loaded
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: stack reads need initialised slots [S]
    r0 = *(u64 *)(r10 -8)
    r0 = 0
    exit
