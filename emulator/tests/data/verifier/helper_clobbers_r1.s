; expect: rejected
; errno: Permission denied
; error: R1 !read_ok
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: a helper call leaves R1-R5 uninitialised
    r1 = 1
    call bpf_ktime_get_ns
    r0 = r1
    r0 = 0
    exit
