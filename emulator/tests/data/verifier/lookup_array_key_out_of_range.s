; expect: rejected
; errno: Permission denied
; error: R0 invalid mem access 'map_value_or_null'
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: an array lookup whose constant key is past max_entries may return NULL
.map a, type=array, key=4, value=8, max_entries=4
.section "iter/bpf_map_elem"
prog:
    r2 = 4
    *(u32 *)(r10 -4) = r2
    r1 = map[a]
    r2 = r10
    r2 += -4
    call bpf_map_lookup_elem
    r1 = *(u64 *)(r0 +0)
    r0 = 0
    exit
