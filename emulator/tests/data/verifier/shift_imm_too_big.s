; expect: rejected
; errno: Invalid argument
; error: invalid shift 64
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: shift by a constant >= 64
    r0 = 1
    r0 <<= 64
    r0 = 0
    exit
