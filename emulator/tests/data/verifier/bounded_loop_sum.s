; expect: loaded
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: bounded loop with an accumulator (back-edges are explored, not refused)
    r0 = 0
    r2 = 0
loop:
    r0 += r2
    r2 += 1
    if r2 < 16 goto loop
    r0 = 0
    exit
