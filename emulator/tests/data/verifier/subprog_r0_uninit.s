; expect: loaded
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: a callee must set R0 before exit
    call sub
    r0 = 0
    exit
sub:
    exit
