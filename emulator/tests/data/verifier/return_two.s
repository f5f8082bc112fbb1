; expect: rejected
; errno: Invalid argument
; error: At program exit the register R0 has smin=2 smax=2 should have been in [0, 1]
; source: spec §2.1 [V]
    r0 = 2
    exit
