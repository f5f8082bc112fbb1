; A verifier log and `iterscope disasm` output pasted as they are: the `N: (op)` prefixes,
; register-state lines and source comments are skipped.
.map hist, type=array, key=4, value=8, max_entries=8
.section .rodata
fmt:
    .asciz "%d\n"

func#0 @0
dump: SEC("iter/bpf_map_elem"), 12 instructions
0: R1=ctx() R10=fp0
; struct seq_file *seq = ctx->meta->seq; @ prog.bpf.c:12
0: (79) r6 = *(u64 *)(r1 +0)          ; R1=ctx() R6_w=ptr_bpf_iter_meta()
1: (79) r6 = *(u64 *)(r6 +0)
2: (79) r7 = *(u64 *)(r1 +24)
3: (15) if r7 == 0x0 goto pc+7
4: (18) r1 = map[hist]
6: (18) r2 = 0x5
8: (18) r2 = map[.rodata][0]+0
10: (b7) r3 = 4
11: (b7) r0 = 0
from 3 to 11: R0=scalar()
12: (95) exit
processed 12 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 1
