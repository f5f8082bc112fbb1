; expect: rejected
; errno: Invalid argument
; error: unreachable insn 2
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: check_cfg [S]
    r0 = 0
    exit
    r0 = 1
    exit
