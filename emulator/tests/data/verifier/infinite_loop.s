; expect: rejected
; errno: Invalid argument
; error: infinite loop detected at insn 1
; source: spec §11 (a back-edge whose state repeats) [S]
    r0 = 0
loop:
    r1 = 0
    goto loop
