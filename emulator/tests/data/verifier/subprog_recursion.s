; expect: rejected
; errno: Argument list too long
; error: the call stack of 9 frames is too deep
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: bpf-to-bpf recursion
    call sub
    r0 = 0
    exit
sub:
    call sub
    r0 = 0
    exit
