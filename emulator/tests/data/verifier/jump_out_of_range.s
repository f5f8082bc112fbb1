; expect: rejected
; errno: Invalid argument
; error: jump out of range from insn 0 to 5
; source: check_cfg [S]
    goto +4
    r0 = 0
    exit
