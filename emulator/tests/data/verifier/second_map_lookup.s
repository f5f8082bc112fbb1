; expect: loaded
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: two maps of the object, each looked up
.map a, type=array, key=4, value=8, max_entries=4
.map h, type=hash, key=8, value=16, max_entries=8
.section "iter/bpf_map_elem"
prog:
    r6 = 0
    *(u32 *)(r10 -4) = r6
    *(u64 *)(r10 -16) = r6
    r1 = map[a]
    r2 = r10
    r2 += -4
    call bpf_map_lookup_elem
    r1 = map[h]
    r2 = r10
    r2 += -16
    call bpf_map_lookup_elem
    if r0 == 0x0 goto out
    r1 = *(u64 *)(r0 +8)
out:
    r0 = 0
    exit
