; expect: loaded
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: a bounded variable offset into a map value
.map h, type=hash, key=4, value=16, max_entries=4
.section "iter/bpf_map_elem"
prog:
    r2 = 0
    *(u32 *)(r10 -4) = r2
    r1 = map[h]
    r2 = r10
    r2 += -4
    call bpf_map_lookup_elem
    if r0 == 0x0 goto out
    r1 = *(u64 *)(r0 +0)
    r1 &= 7
    r0 += r1
    r1 = *(u8 *)(r0 +8)
out:
    r0 = 0
    exit
