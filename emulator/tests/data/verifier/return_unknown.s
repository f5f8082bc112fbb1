; expect: rejected
; errno: Invalid argument
; error: At program exit the register R0 has unknown scalar value should have been in [0, 1]
; source: spec §2.1 [V]
    r2 = *(u64 *)(r1 +0)
    r0 = *(u64 *)(r2 +16)
    exit
