; expect: rejected
; errno: Invalid argument
; error: div by zero
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: division by the constant 0 is refused
    r0 = 7
    r0 /= 0
    r0 = 0
    exit
