; expect: loaded
; attach: failed: Permission denied (EACCES)
; map: percpu_hash key=4 value=4
; source: spec §5 (offset 16 is past the 16-byte per-CPU buffer) [V]
    r2 = *(u64 *)(r1 +24)
    if r2 == 0x0 goto out
    r0 = *(u32 *)(r2 +16)
out:
    r0 = 0
    exit
