; asm_hex_dump.s: print every element of a {u32 key -> u64 value} map as hex, with a header
; line before the first element (meta->seq_num == 0), in assembly.
;
; Build: iterscope asm examples/asm_hex_dump.s -o examples/asm_hex_dump.o
; Run:   iterscope run examples/asm_hex_dump.json

.rodata
hdr:
    .asciz "key      value\n"                ; 16 bytes with the NUL
line:
    .asciz "%08x %016llx\n"                  ; 14 bytes with the NUL

.section "iter/bpf_map_elem"
asm_hex_dump:
    r2 = *(u64 *)(r1 +0)            ; ctx->meta
    r6 = *(u64 *)(r2 +0)            ; meta->seq
    r7 = *(u64 *)(r1 +16)           ; ctx->key
    r8 = *(u64 *)(r1 +24)           ; ctx->value
    if r7 == 0x0 goto out           ; the final NULL call prints nothing
    if r8 == 0x0 goto out
    r2 = *(u64 *)(r2 +16)           ; meta->seq_num
    if r2 != 0x0 goto body
    r1 = r6
    r2 = hdr ll
    r3 = 16
    r4 = 0
    r5 = 0
    call bpf_seq_printf             // header, no arguments
body:
    r1 = *(u32 *)(r7 +0)
    *(u64 *)(r10 -16) = r1          ; args[0] = key
    r1 = *(u64 *)(r8 +0)
    *(u64 *)(r10 -8) = r1           ; args[1] = value
    r1 = r6
    r2 = line ll
    r3 = 14
    r4 = r10
    r4 += -16
    r5 = 16
    call bpf_seq_printf#126
out:
    r0 = 0
    exit
