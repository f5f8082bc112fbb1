; expect: rejected
; errno: Permission denied
; error: R1 invalid rdonly buffer access: off=-4, size=4
; source: spec §6.2 rule 4 [V]
    r1 = *(u64 *)(r1 +16)
    if r1 == 0x0 goto out
    r0 = *(u32 *)(r1 -4)
out:
    r0 = 0
    exit
