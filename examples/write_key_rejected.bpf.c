// SPDX-License-Identifier: MIT OR Apache-2.0
/* BAD PROGRAM, on purpose: it stores into the key.
 *
 * Linux's verdict: the LOAD fails with EACCES; the verifier log ends with
 *     R1 cannot write into rdonly_buf
 * (the register number is whichever register clang put the key in; here R1).
 *
 * Teaches: ctx->key has the verifier type rdonly_buf (PTR_TO_BUF | MEM_RDONLY) once it is
 * NULL-checked. For a hash map it points at the element's own key inside the map, so a store
 * would move the element out of its bucket; the verifier therefore refuses any store, BPF_ST
 * immediate store or atomic through it at load time, whatever the map is.
 * To "rename" an element, a program must update a map through a helper with a key copied to
 * the stack; to change the value, write through ctx->value (allowed for non-per-CPU maps). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char _license[] SEC("license") = "GPL";

SEC("iter/bpf_map_elem")
int write_key_rejected(struct bpf_iter__bpf_map_elem *ctx)
{
	__u32 *key = ctx->key;
	__u64 *val = ctx->value;

	if (key == NULL || val == NULL)
		return 0;
	*key = 9; /* rejected: the key is read-only */
	return 0;
}
