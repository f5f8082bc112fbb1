; expect: rejected
; errno: Invalid argument
; error: program of this type cannot use helper bpf_probe_write_user#36
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: spec §7.1 [V]
    r1 = 0
    r2 = 0
    r3 = 0
    call bpf_probe_write_user
    r0 = 0
    exit
