; expect: rejected
; errno: Invalid argument
; error: infinite loop detected at insn 1
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: spec §11 (a back-edge whose state repeats) [S]
    r0 = 0
loop:
    r1 = 0
    goto loop
