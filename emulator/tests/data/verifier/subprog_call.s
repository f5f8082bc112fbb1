; expect: loaded
; attach: ok
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
