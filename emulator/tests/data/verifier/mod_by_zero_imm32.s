; expect: rejected
; errno: Invalid argument
; error: div by zero
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: 32-bit modulo by the constant 0 is refused
    w0 = 7
    w0 %= 0
    r0 = 0
    exit
