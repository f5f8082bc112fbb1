; expect: loaded
; attach: ok
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: a bounded loop (6.18 accepts loops whose exploration ends) [S]
    r0 = 0
    r1 = 0
loop:
    r1 += 1
    if r1 < 10 goto loop
    r0 = 0
    exit
