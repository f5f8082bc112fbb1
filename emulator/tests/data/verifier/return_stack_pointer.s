; expect: rejected
; errno: Invalid argument
; error: cannot return stack pointer to the caller
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: a subprogram may not return a pointer into its own frame (prepare_func_exit) [S]
    call sub
    r0 = 0
    exit
sub:
    r0 = r10
    r0 += -8
    exit
