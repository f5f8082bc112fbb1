; expect: rejected
; errno: Permission denied
; error: invalid read from stack R10 off=0 size=8
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: stack reads at or above the frame pointer
    r0 = *(u64 *)(r10 +0)
    r0 = 0
    exit
