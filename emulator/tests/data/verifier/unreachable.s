; expect: rejected
; errno: Invalid argument
; error: unreachable insn 2
; source: check_cfg [S]
    r0 = 0
    exit
    r0 = 1
    exit
