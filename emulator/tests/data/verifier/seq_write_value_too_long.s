; expect: loaded
; attach: failed: Permission denied (EACCES)
; map: hash key=4 value=8
; source: spec §6.2 helper arguments (bpf_seq_write(seq, val, 16) on an 8-byte value) [V]
    r6 = *(u64 *)(r1 +0)
    r2 = *(u64 *)(r1 +24)
    if r2 == 0x0 goto out
    r1 = *(u64 *)(r6 +0)
    r3 = 16
    call bpf_seq_write
out:
    r0 = 0
    exit
