; expect: rejected
; errno: Permission denied
; error: R1 invalid mem access 'rdonly_buf_or_null'
; source: oracle case missing_null_check; spec §6.2 rule 1 [V]
    r1 = *(u64 *)(r1 +16)
    r0 = *(u32 *)(r1 +0)
    r0 = 0
    exit
