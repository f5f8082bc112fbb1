; expect: rejected
; errno: Permission denied
; error: invalid size of register spill
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: a pointer can be spilled to the stack only whole (8 bytes)
    r2 = r10
    *(u32 *)(r10 -8) = r2
    r0 = 0
    exit
