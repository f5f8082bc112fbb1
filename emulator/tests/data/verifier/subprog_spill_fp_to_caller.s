; expect: rejected
; errno: Invalid argument
; error: cannot spill pointers to stack into stack frame of the caller
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: a callee cannot spill its own stack pointer into the caller's frame
    r1 = r10
    r1 += -8
    call sub
    r0 = 0
    exit
sub:
    r2 = r10
    r2 += -8
    *(u64 *)(r1 +0) = r2
    r0 = 0
    exit
