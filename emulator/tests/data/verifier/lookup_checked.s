; expect: loaded
; attach: ok
; source: a NULL-checked lookup into the object's own map [S]
.map counts, type=array, key=4, value=8, max_entries=4
.section "iter/bpf_map_elem"
prog:
    r2 = 0
    *(u32 *)(r10 -4) = r2
    r1 = map[counts]
    r2 = r10
    r2 += -4
    call bpf_map_lookup_elem
    if r0 == 0x0 goto out
    r1 = *(u64 *)(r0 +0)
    r1 += 1
    *(u64 *)(r0 +0) = r1
out:
    r0 = 0
    exit
