; expect: loaded
; attach: ok
; source: privileged loads (iterators need CAP_BPF + CAP_PERFMON) set allow_uninit_stack, so helpers may read uninitialised stack; the same rule recorded from the kernel in lookup_uninit_key_root.s
.rodata
fmt:
    .asciz "%u\n"
.section "iter/bpf_map_elem"
prog:
    r6 = *(u64 *)(r1 +0)
    r1 = *(u64 *)(r6 +0)
    r2 = fmt ll
    r3 = 4
    r4 = r10
    r4 += -8
    r5 = 8
    call bpf_seq_printf
    r0 = 0
    exit
