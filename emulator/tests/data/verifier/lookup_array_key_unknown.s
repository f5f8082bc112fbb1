; expect: rejected
; errno: Permission denied
; error: R0 invalid mem access 'map_value_or_null'
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: an array lookup with an unknown key may return NULL
.map a, type=array, key=4, value=8, max_entries=4
.section "iter/bpf_map_elem"
prog:
    call bpf_get_prandom_u32
    *(u32 *)(r10 -4) = r0
    r1 = map[a]
    r2 = r10
    r2 += -4
    call bpf_map_lookup_elem
    r1 = *(u64 *)(r0 +0)
    r0 = 0
    exit
