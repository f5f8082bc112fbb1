# Every instruction form the assembler reads, in both spellings where they differ
# (verifier log `(r1 +24)` and llvm-objdump `(r1 + 0x18)`).
.map counts, type=hash, key=4, value=8, max_entries=16, flags=0
.map slots, type=BPF_MAP_TYPE_PERCPU_ARRAY, key_size=4, value_size=16, max_entries=4

.section .rodata
greeting:
    .asciz "hi %d\n\t\"q\"\\ \x41\101"
table:
    .byte 1, 2, 0xff, -1
    .short 0x1234, -2
    .long 7
    .quad 0x1122334455667788
.data
counter:
    .long 42
    .p2align 3
wide:
    .quad -1
.bss
scratch:
    .zero 64

.section "iter/bpf_map_elem"
.globl everything
everything:
    r2 = *(u64 *)(r1 +24)
    r2 = *(u64 *)(r1 + 24)
    r2 = *(u64 *)(r1 + 0x18)
    w3 = *(u32 *)(r1 -8)
    r4 = *(u16 *)(r1 +0)
    r5 = *(u8 *)(r1)
    r5 = *(s8 *)(r1 +1)
    r5 = *(s16 *)(r1 +2)
    r5 = *(s32 *)(r1 +4)
    *(u32 *)(r10 -8) = r2
    *(u64 *)(r10 -16) = w2
    *(u8 *)(r10 -1) = 5
    *(u16 *)(r10 -4) = -3
    r2 = r1
    w2 = w1
    r4 += -32
    w4 -= 7
    r4 *= r5
    r4 /= 3
    r4 s/= r5
    r4 %= r5
    w4 s%= 9
    r4 |= 0x10
    r4 &= 0xff
    r4 <<= 32
    r4 >>= 1
    r4 s>>= 2
    r4 ^= r4
    r0 = -r0
    w0 = -w0
    r0 = be16 r0
    r0 = le32 r0
    r0 = bswap64 r0
    r1 = (s8)r2
    w1 = (s16)w2
    r0 = 5
    w0 = -1
    r1 = 0x1234 ll
    r1 = 5 ll
    r1 = 0x1122334455667788
    r1 = map[counts]
    r1 = counts ll
    r2 = greeting ll
    r2 = table + 4 ll
    r2 = map[.rodata][0]+12
    r3 = .bss ll
    r3 = scratch + 8
    r4 = counter ll
    lock *(u64 *)(r1 +0) += r2
    lock *(u32 *)(r1 + 0x8) |= w2
    lock *(u64 *)(r1 +0) &= r2
    lock *(u64 *)(r1 +0) ^= r2
    r2 = atomic64_fetch_add((u64 *)(r1 +0), r2)
    w2 = atomic_fetch_or((u32 *)(r1 +4), w2)
    r2 = atomic64_fetch_and((u64 *)(r1 +0), r2)
    r2 = atomic64_fetch_xor((u64 *)(r1 +0), r2)
    r2 = atomic64_xchg((u64 *)(r1 +0), r2)
    r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)
    if r2 == 0x0 goto pc+1
    if r2 != 0 goto +1
    if r2 > r3 goto back
    if w1 s> w2 goto fwd
    if w1 s>= -1 goto fwd
    if r1 < 0xffffffff goto fwd
    if r1 <= r2 goto fwd
    if r1 s< r2 goto fwd
    if r1 s<= 5 goto fwd
    if r1 >= 1 goto fwd
    if r1 & 0x4 goto fwd
back:
    goto -3
fwd:
    goto fwd2
fwd2:
    gotol pc+0
    call bpf_seq_printf
    call bpf_seq_printf#126
    call 126
    call map_lookup_elem
    call helper
    call pc+1
    call sub_in_text
    exit
helper:
    r0 = 0
    exit

.text
sub_in_text:
    r0 = 1
    exit
.license "Dual MIT/GPL"
