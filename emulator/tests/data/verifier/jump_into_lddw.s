; expect: rejected
; errno: Invalid argument
; error: jump into the middle of ldimm64 insn 2
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: a jump into the second half of an ld_imm64
    r0 = 0
    if r0 == 0 goto +1
    r1 = 0x100000000 ll
    r0 = 0
    exit
