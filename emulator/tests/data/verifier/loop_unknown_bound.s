; expect: rejected
; errno: Invalid argument
; error: infinite loop detected at insn 3
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: a loop whose state does not change: the verifier sees the same state twice
    call bpf_get_prandom_u32
    r1 = r0
loop:
    r2 = r1
    if r1 != 0 goto loop
    r0 = 0
    exit
