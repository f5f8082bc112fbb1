; expect: loaded
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: an uninitialised stack key is allowed for privileged loaders (allow_uninit_stack)
.map h, type=hash, key=4, value=8, max_entries=4
.section "iter/bpf_map_elem"
prog:
    r1 = map[h]
    r2 = r10
    r2 += -4
    call bpf_map_lookup_elem
    r0 = 0
    exit
