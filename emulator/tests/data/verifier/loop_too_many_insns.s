; expect: rejected
; errno: Argument list too long
; error: BPF program is too large. Processed 1000001 insn
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: the processed-instruction limit (BPF_COMPLEXITY_LIMIT_INSNS)
    r1 = 0
loop:
    r1 += 1
    if r1 < 1000000 goto loop
    r0 = 0
    exit
