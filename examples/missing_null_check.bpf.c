// SPDX-License-Identifier: MIT OR Apache-2.0
/* BAD PROGRAM, on purpose: it reads the key without checking it for NULL.
 *
 * Linux's verdict: the LOAD fails with EACCES; the verifier log ends with
 *     R1 invalid mem access 'rdonly_buf_or_null'
 *
 * Teaches: the iterator calls the program once more after the last element with
 * ctx->key == ctx->value == NULL (the "stop" call, used to print footers), so the verifier
 * types the loaded pointers as rdonly_buf_or_null (key) and buf_or_null (value). Only after
 * an `if (key == NULL)` branch does the pointer become rdonly_buf and readable. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char _license[] SEC("license") = "GPL";

__u64 key_total; /* .bss */

SEC("iter/bpf_map_elem")
int missing_null_check(struct bpf_iter__bpf_map_elem *ctx)
{
	__u32 *key = ctx->key;

	key_total += *key; /* rejected: key may be NULL here */
	return 0;
}
