; expect: rejected
; errno: Invalid argument
; error: unreachable insn 1
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: check_cfg: an instruction no path reaches
    goto +1
    r0 = 1
    r0 = 0
    exit
