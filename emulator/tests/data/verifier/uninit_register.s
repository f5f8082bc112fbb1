; expect: rejected
; errno: Permission denied
; error: R3 !read_ok
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: reading a register never written [S]
    r0 = r3
    r0 = 0
    exit
