; expect: rejected
; errno: Permission denied
; error: R1 pointer arithmetic on rdonly_buf_or_null prohibited, null-check it first
; source: spec §6.2 rule 2 [S]
    r1 = *(u64 *)(r1 +16)
    r1 += 4
    r0 = 0
    exit
