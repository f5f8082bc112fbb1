; expect: rejected
; errno: Permission denied
; error: invalid read from stack R10 off=-8 size=8
; source: stack reads need initialised slots [S]
    r0 = *(u64 *)(r10 -8)
    r0 = 0
    exit
