// SPDX-License-Identifier: MIT OR Apache-2.0
/* Sum an array map {u32 index -> u32 value}, printing every non-zero slot and the sum in the
 * final NULL call. The threshold is a const volatile in .rodata, as a skeleton would set it. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

const volatile __u32 min_value = 1; /* .rodata */
__u64 sum;                          /* .bss */

SEC("iter/bpf_map_elem")
int array_sum(struct bpf_iter__bpf_map_elem *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	__u32 *idx = ctx->key;
	__u32 *val = ctx->value;

	if (!idx || !val) {
		BPF_SEQ_PRINTF(seq, "sum=%llu over %u slots\n", sum, ctx->map->max_entries);
		return 0;
	}
	if (*val < min_value)
		return 0;
	sum += *val;
	BPF_SEQ_PRINTF(seq, "[%u] %u\n", *idx, *val);
	return 0;
}
