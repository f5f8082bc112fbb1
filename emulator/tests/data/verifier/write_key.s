; expect: rejected
; errno: Permission denied
; error: R1 cannot write into rdonly_buf
; source: oracle case write_key_rejected; spec §6.2 rule 3 [V]
    r2 = *(u64 *)(r1 +24)
    r1 = *(u64 *)(r1 +16)
    if r1 == 0x0 goto out
    if r2 == 0x0 goto out
    r2 = 7
    *(u32 *)(r1 +0) = r2
out:
    r0 = 0
    exit
