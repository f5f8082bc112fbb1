; expect: rejected
; errno: Permission denied
; error: R1 32-bit pointer arithmetic prohibited
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: 32-bit arithmetic on a pointer
    r1 = r10
    w1 += 4
    r0 = 0
    exit
