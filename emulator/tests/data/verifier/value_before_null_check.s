; expect: rejected
; errno: Permission denied
; error: R2 invalid mem access 'buf_or_null'
; source: spec §6.2 rule 1 [V]
    r2 = *(u64 *)(r1 +24)
    r3 = *(u64 *)(r2 +0)
    r0 = 0
    exit
