; `clang -O2 -g0 -target bpf -S clang_s.bpf.c` output as it is, plus one .map line: the
; definitions of .maps live in .BTF, which the assembler skips.
.map total, type=array, key=4, value=8, max_entries=1

	.text
	.file	"noco.bpf.c"
	.section	"iter/bpf_map_elem","ax",@progbits
	.globl	noco                            # -- Begin function noco
	.p2align	3
	.type	noco,@function
noco:                                   # @noco
# %bb.0:
	r6 = r1
	r1 = 0
	*(u32 *)(r10 - 4) = r1
	r7 = *(u64 *)(r6 + 24)
	r1 = calls ll
	r2 = *(u64 *)(r1 + 0)
	r2 += 1
	*(u64 *)(r1 + 0) = r2
	r2 = r10
	r2 += -4
	r1 = total ll
	call 1
	if r7 != 0 goto LBB0_3
# %bb.1:
	if r0 == 0 goto LBB0_5
# %bb.2:
	r1 = *(u64 *)(r0 + 0)
	*(u64 *)(r10 - 24) = r1
	r1 = calls ll
	r1 = *(u64 *)(r1 + 0)
	*(u64 *)(r10 - 16) = r1
	r1 = *(u64 *)(r6 + 0)
	r1 = *(u64 *)(r1 + 0)
	r4 = r10
	r4 += -24
	r2 = noco.___fmt ll
	r3 = 28
	r5 = 16
	call 126
	goto LBB0_5
LBB0_3:
	if r0 == 0 goto LBB0_5
# %bb.4:
	r2 = *(u32 *)(r7 + 0)
	r1 = r0
	call bump
LBB0_5:
	r0 = 0
	exit
.Lfunc_end0:
	.size	noco, .Lfunc_end0-noco
                                        # -- End function
	.text
	.p2align	3                               # -- Begin function bump
	.type	bump,@function
bump:                                   # @bump
# %bb.0:
	r3 = *(u64 *)(r1 + 0)
	r3 += r2
	*(u64 *)(r1 + 0) = r3
	exit
.Lfunc_end1:
	.size	bump, .Lfunc_end1-bump
                                        # -- End function
	.type	_license,@object                # @_license
	.section	license,"aw",@progbits
	.globl	_license
_license:
	.asciz	"GPL"
	.size	_license, 4

	.type	calls,@object                   # @calls
	.section	.bss,"aw",@nobits
	.globl	calls
	.p2align	3
calls:
	.quad	0                               # 0x0
	.size	calls, 8

	.type	total,@object                   # @total
	.section	.maps,"aw",@progbits
	.globl	total
	.p2align	3
total:
	.zero	32
	.size	total, 32

	.type	noco.___fmt,@object             # @noco.___fmt
	.section	.rodata,"a",@progbits
noco.___fmt:
	.asciz	"total %llu over %llu calls\n"
	.size	noco.___fmt, 28

	.addrsig
	.addrsig_sym noco
	.addrsig_sym _license
	.addrsig_sym total
	.addrsig_sym noco.___fmt
