; expect: loaded
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: division by a register that is zero is allowed (the result is 0)
    r0 = 7
    r1 = 0
    r0 /= r1
    r2 = 9
    r2 %= r1
    r0 = 0
    exit
