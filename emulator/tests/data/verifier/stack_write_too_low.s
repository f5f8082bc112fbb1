; expect: rejected
; errno: Permission denied
; error: invalid write to stack R10 off=-520 size=8
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: stack writes below the 512-byte frame
    r1 = 1
    *(u64 *)(r10 -520) = r1
    r0 = 0
    exit
