// SPDX-License-Identifier: MIT OR Apache-2.0
/* A per-CPU array map {u32 -> u32}, the way the kernel's bpf_percpu_array_map iterator
 * selftest reads it.
 *
 * Teaches:
 *  - per-CPU arrays hand the program the same kind of buffer as per-CPU hashes: every
 *    possible CPU's value in CPU order, one round_up(value_size, 8)-byte slot each, so a
 *    4-byte value is read at offsets 0, 8, 16, ...;
 *  - arrays are walked in index order and every slot exists (there is no "missing" element):
 *    a slot nobody wrote reads as zeros on every CPU;
 *  - num_cpus is a `const volatile` .rodata global a loader may set before load (default 2).
 * Scenario: 3 slots, value on CPU j = i+j: key_sum = 0+1+2 = 3 and, with 2 CPUs,
 * val_sum = (0+1) + (1+2) + (2+3) = 9. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

const volatile __u32 num_cpus = 2; /* .rodata */

__u32 key_sum, val_sum; /* .bss */

SEC("iter/bpf_map_elem")
int selftest_percpu_array_map(struct bpf_iter__bpf_map_elem *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	__u32 *key = ctx->key;
	void *slot = ctx->value;
	__u32 cpu;

	if (key == NULL || slot == NULL) {
		BPF_SEQ_PRINTF(seq, "key_sum=%u val_sum=%u\n", key_sum, val_sum);
		return 0;
	}

	key_sum += *key;
	BPF_SEQ_PRINTF(seq, "[%u]", *key);
	for (cpu = 0; cpu < num_cpus; cpu++) {
		__u32 v = *(__u32 *)slot;

		val_sum += v;
		BPF_SEQ_PRINTF(seq, " %u", v);
		slot += 8; /* round_up(sizeof(__u32), 8) */
	}
	BPF_SEQ_PRINTF(seq, "\n");
	return 0;
}
