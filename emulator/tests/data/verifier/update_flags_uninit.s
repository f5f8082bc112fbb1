; expect: rejected
; errno: Permission denied
; error: R4 !read_ok
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: bpf_map_update_elem needs R4 (flags)
.map h, type=hash, key=4, value=8, max_entries=4
.section "iter/bpf_map_elem"
prog:
    r6 = 0
    *(u32 *)(r10 -4) = r6
    *(u64 *)(r10 -16) = r6
    r1 = map[h]
    r2 = r10
    r2 += -4
    r3 = r10
    r3 += -16
    call bpf_map_update_elem
    r0 = 0
    exit
