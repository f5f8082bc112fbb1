; expect: rejected
; errno: Permission denied
; error: R3 cannot write into rdonly_buf
; source: spec §6.2 rule 3 (BPF_ST is a write too) [S]
    r3 = *(u64 *)(r1 +16)
    if r3 == 0x0 goto out
    *(u8 *)(r3 +1) = 9
out:
    r0 = 0
    exit
