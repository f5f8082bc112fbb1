// SPDX-License-Identifier: MIT OR Apache-2.0
/* Count the values of a hash map {u32 -> u32} in power-of-two buckets kept in a BTF-defined
 * array map of the object itself, then print the histogram in the final NULL call. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

#define NBUCKETS 8

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, NBUCKETS);
} hist SEC(".maps");

static __u32 bucket_of(__u32 v)
{
	__u32 b = 0;

	while (v > 1 && b < NBUCKETS - 1) {
		v >>= 1;
		b++;
	}
	return b;
}

SEC("iter/bpf_map_elem")
int value_histogram(struct bpf_iter__bpf_map_elem *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	__u32 *val = ctx->value;
	__u64 *slot;
	__u32 b;

	if (!val) {
		for (b = 0; b < NBUCKETS; b++) {
			__u32 key = b;

			slot = bpf_map_lookup_elem(&hist, &key);
			if (slot && *slot)
				BPF_SEQ_PRINTF(seq, "%10u+ %llu\n", 1U << b, *slot);
		}
		return 0;
	}
	b = bucket_of(*val);
	slot = bpf_map_lookup_elem(&hist, &b);
	if (slot)
		*slot += 1; /* one session at a time: no atomic needed */
	return 0;
}
