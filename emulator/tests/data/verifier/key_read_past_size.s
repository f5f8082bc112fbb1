; expect: loaded
; attach: failed: Permission denied (EACCES)
; map: hash key=12 value=8
; source: oracle case key_read_past_size_attach_fails; spec §6.3 (kern5) [V]
    r2 = *(u64 *)(r1 +16)
    if r2 == 0x0 goto out
    r0 = *(u32 *)(r2 +12)
out:
    r0 = 0
    exit
