; expect: rejected
; errno: Permission denied
; error: frame pointer is read only
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: the frame pointer R10 is read-only
    r10 = 0
    r0 = 0
    exit
