; expect: rejected
; errno: Permission denied
; error: R6 !read_ok
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: a callee cannot read the caller's R6
    r6 = 1
    call sub
    r0 = 0
    exit
sub:
    r0 = r6
    exit
