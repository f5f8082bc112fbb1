; expect: rejected
; errno: Permission denied
; error: R1 pointer arithmetic with *= operator prohibited
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: multiplying a pointer
    r1 = r10
    r1 *= 2
    r0 = 0
    exit
