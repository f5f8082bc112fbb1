; expect: rejected
; errno: Permission denied
; error: misaligned stack access off 0+0+-4 size 8
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: stack accesses are always strictly aligned
    r1 = 1
    *(u64 *)(r10 -4) = r1
    r0 = 0
    exit
