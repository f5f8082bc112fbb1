; expect: loaded
; attach: ok
; source: a bounded loop (6.18 accepts loops whose exploration ends) [S]
    r0 = 0
    r1 = 0
loop:
    r1 += 1
    if r1 < 10 goto loop
    r0 = 0
    exit
