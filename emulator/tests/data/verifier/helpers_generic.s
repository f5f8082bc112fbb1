; expect: loaded
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: helpers every program type may call
    call bpf_ktime_get_ns
    call bpf_get_prandom_u32
    call bpf_get_smp_processor_id
    r0 = 0
    exit
