; expect: rejected
; errno: Permission denied
; error: R0 !read_ok
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: R0 must be set at exit
    exit
