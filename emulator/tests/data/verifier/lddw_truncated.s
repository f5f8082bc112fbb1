; expect: rejected
; errno: Invalid argument
; error: jump into the middle of ldimm64 insn 0
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: a backwards jump into the second half of an ld_imm64
    r1 = 0x100000000 ll
    if r1 == 0 goto -2
    r0 = 0
    exit
