; expect: rejected
; errno: Invalid argument
; error: invalid shift 32
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: 32-bit shift by a constant >= 32
    w0 = 1
    w0 >>= 32
    r0 = 0
    exit
