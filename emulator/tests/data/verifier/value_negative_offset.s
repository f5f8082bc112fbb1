; expect: rejected
; errno: Permission denied
; error: R2 invalid rdwr buffer access: off=-8, size=8
; source: spec §6.2 rule 4 (kern6 pattern) [V]
    r2 = *(u64 *)(r1 +24)
    if r2 == 0x0 goto out
    r3 = *(u64 *)(r2 -8)
out:
    r0 = 0
    exit
