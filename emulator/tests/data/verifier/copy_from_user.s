; expect: rejected
; errno: Invalid argument
; error: helper call might sleep in a non-sleepable prog
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: spec §7.1 [V]
    r1 = r10
    r1 += -8
    r2 = 8
    r3 = 0
    call bpf_copy_from_user
    r0 = 0
    exit
