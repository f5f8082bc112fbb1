; expect: rejected
; errno: Permission denied
; error: R3 !read_ok
; source: reading a register never written [S]
    r0 = r3
    r0 = 0
    exit
