; expect: rejected
; errno: Invalid argument
; error: helper call might sleep in a non-sleepable prog
; source: spec §7.1 [V]
    r1 = r10
    r1 += -8
    r2 = 8
    r3 = 0
    call bpf_copy_from_user
    r0 = 0
    exit
