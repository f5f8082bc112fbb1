; asm_count.s: count the elements of the iterated map and sum their u32 values, in
; assembly. The totals live in .bss globals; a second map, `seen` (one u64 slot), is looked
; up and bumped per element to show a map reference. The final NULL call prints the totals
; with bpf_seq_printf and a format string in .rodata.
;
; Build: iterscope asm examples/asm_count.s -o examples/asm_count.o
; Run:   iterscope run examples/asm_count.json

.map seen, type=array, key=4, value=8, max_entries=1

.rodata
fmt:
    .asciz "%llu elements, sum %llu, map says %llu\n"   ; 40 bytes with the NUL

.bss
count:
    .zero 8
sum:
    .zero 8

.section "iter/bpf_map_elem"
asm_count:
    r6 = r1                         ; r6 = ctx (struct bpf_iter__bpf_map_elem *)
    r7 = *(u64 *)(r6 +24)           ; ctx->value
    if r7 == 0x0 goto done          ; NULL value: the final call
    ; Plain load/add/store: the program runs on one CPU at a time here (rbpf has no
    ; atomics); with several CPUs it would be `lock *(u64 *)(r1 +0) += r2`.
    r1 = count ll
    r2 = *(u64 *)(r1 +0)
    r2 += 1
    *(u64 *)(r1 +0) = r2            ; count += 1
    r2 = *(u32 *)(r7 +0)
    r1 = sum ll
    r3 = *(u64 *)(r1 +0)
    r3 += r2
    *(u64 *)(r1 +0) = r3            ; sum += *(u32 *)value
    r1 = 0
    *(u32 *)(r10 -4) = r1           ; key 0 of `seen`
    r2 = r10
    r2 += -4
    r1 = map[seen]
    call bpf_map_lookup_elem
    if r0 == 0x0 goto out
    r1 = *(u64 *)(r0 +0)
    r1 += 1
    *(u64 *)(r0 +0) = r1            ; seen[0] += 1
out:
    r0 = 0
    exit

done:
    r1 = *(u64 *)(r6 +0)            ; ctx->meta
    r8 = *(u64 *)(r1 +0)            ; ctx->meta->seq
    r1 = count ll
    r1 = *(u64 *)(r1 +0)
    *(u64 *)(r10 -24) = r1          ; args[0] = count
    r1 = sum ll
    r1 = *(u64 *)(r1 +0)
    *(u64 *)(r10 -16) = r1          ; args[1] = sum
    r1 = 0
    *(u32 *)(r10 -4) = r1
    r2 = r10
    r2 += -4
    r1 = map[seen]
    call bpf_map_lookup_elem
    r1 = 0
    if r0 == 0x0 goto print
    r1 = *(u64 *)(r0 +0)
print:
    *(u64 *)(r10 -8) = r1           ; args[2] = seen[0]
    r1 = r8
    r2 = fmt ll
    r3 = 40
    r4 = r10
    r4 += -24
    r5 = 24
    call bpf_seq_printf
    r0 = 0
    exit
