; expect: loaded
; attach: ok
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: bpf-to-bpf calls with their own frames (r6-r9 preserved) [S]
    r6 = 1
    r1 = 2
    call double
    r0 &= 0
    exit
double:
    r0 = r1
    r0 += r1
    exit
