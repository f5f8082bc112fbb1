; expect: rejected
; errno: Invalid argument
; error: last insn is not an exit or jmp
; recorded: linux 6.18.44, loaded as socket_filter (iterator loads are refused here by lockdown)
; source: check_subprogs: the last instruction must be an exit or a jump
    r0 = 0
    if r0 == 0 goto +1
    exit
    r0 = 0
