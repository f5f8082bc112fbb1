; expect: rejected
; errno: Permission denied
; error: R1 pointer arithmetic on map_ptr prohibited
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: arithmetic on a map pointer
.map h, type=hash, key=4, value=8, max_entries=4
.section "iter/bpf_map_elem"
prog:
    r1 = map[h]
    r1 += 8
    r0 = 0
    exit
