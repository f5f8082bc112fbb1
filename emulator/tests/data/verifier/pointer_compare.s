; expect: loaded
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: privileged programs may compare pointers
    r2 = r10
    r3 = r10
    r3 += -8
    r0 = 0
    if r2 > r3 goto out
    r0 = 1
out:
    exit
