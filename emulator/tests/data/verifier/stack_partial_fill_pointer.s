; expect: rejected
; errno: Permission denied
; error: invalid size of register fill
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: a spilled pointer cannot be filled partially
    r2 = r10
    *(u64 *)(r10 -8) = r2
    r3 = *(u32 *)(r10 -8)
    r0 = 0
    exit
