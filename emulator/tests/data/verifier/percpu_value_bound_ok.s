; expect: loaded
; attach: ok
; map: percpu_hash key=4 value=4
; source: spec §5 (offset 12 of a 2-CPU round_up(4,8)*2 = 16 buffer) [V]
    r2 = *(u64 *)(r1 +24)
    if r2 == 0x0 goto out
    r0 = *(u32 *)(r2 +12)
out:
    r0 = 0
    exit
