; expect: rejected
; errno: Permission denied
; error: R2 type=scalar expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: the key of bpf_map_lookup_elem must be a pointer
.map h, type=hash, key=4, value=8, max_entries=4
.section "iter/bpf_map_elem"
prog:
    r1 = map[h]
    r2 = 0
    call bpf_map_lookup_elem
    r0 = 0
    exit
