; expect: rejected
; errno: Invalid argument
; error: infinite loop detected at insn 2
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: goto -1: an infinite loop
    call bpf_get_prandom_u32
    if r0 == 0 goto +1
    goto -1
    r0 = 0
    exit
