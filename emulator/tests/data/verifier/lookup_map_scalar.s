; expect: rejected
; errno: Permission denied
; error: R1 type=scalar expected=map_ptr
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: the map argument must be a map pointer
    r2 = r10
    r2 += -8
    r1 = 0
    call bpf_map_lookup_elem
    r0 = 0
    exit
