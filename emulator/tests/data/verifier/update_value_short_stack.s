; expect: rejected
; errno: Invalid argument
; error: invalid read from stack R3 off=-8 size=16
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: the value of bpf_map_update_elem must fit in the stack
.map h, type=hash, key=4, value=16, max_entries=4
.section "iter/bpf_map_elem"
prog:
    r6 = 0
    *(u32 *)(r10 -4) = r6
    r1 = map[h]
    r2 = r10
    r2 += -4
    r3 = r10
    r3 += -8
    r4 = 0
    call bpf_map_update_elem
    r0 = 0
    exit
