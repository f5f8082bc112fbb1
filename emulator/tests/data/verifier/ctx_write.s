; expect: rejected
; errno: Permission denied
; error: invalid bpf_context access off=16 size=8
; source: spec §1.2 (ctx->key = 0) [V]
    r2 = 0
    *(u64 *)(r1 +16) = r2
    r0 = 0
    exit
