; expect: rejected
; errno: Permission denied
; error: R1 invalid variable buffer offset: off=0, var_off=(0x0; 0x3)
; source: spec §6.2 rule 5 [V]
    r1 = *(u64 *)(r1 +16)
    if r1 == 0x0 goto out
    r2 = *(u32 *)(r1 +0)
    r2 &= 3
    r1 += r2
    r0 = *(u8 *)(r1 +0)
out:
    r0 = 0
    exit
