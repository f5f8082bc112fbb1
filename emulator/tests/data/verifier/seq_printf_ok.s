; expect: loaded
; attach: ok
; source: bpf_seq_printf with a .rodata format and stack arguments [V]
.rodata
fmt:
    .asciz "%u\n"
.section "iter/bpf_map_elem"
prog:
    r6 = *(u64 *)(r1 +0)
    r2 = *(u64 *)(r1 +16)
    if r2 == 0x0 goto out
    r3 = *(u32 *)(r2 +0)
    *(u64 *)(r10 -8) = r3
    r1 = *(u64 *)(r6 +0)
    r2 = fmt ll
    r3 = 4
    r4 = r10
    r4 += -8
    r5 = 8
    call bpf_seq_printf
out:
    r0 = 0
    exit
