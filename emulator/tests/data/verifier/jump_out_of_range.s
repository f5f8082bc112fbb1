; expect: rejected
; errno: Invalid argument
; error: jump out of range from insn 0 to 5
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: check_cfg [S]
    goto +4
    r0 = 0
    exit
