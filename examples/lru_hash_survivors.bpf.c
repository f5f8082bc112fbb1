// SPDX-License-Identifier: MIT OR Apache-2.0
/* Which keys survive when an LRU hash map is filled past max_entries?
 *
 * Teaches:
 *  - an LRU hash never refuses an update for lack of room: it evicts. The scenario inserts
 *    keys 1..37 (value key+1000) into a 16-entry map from one CPU. With 2 possible CPUs each
 *    refill of that CPU's free list evicts target_free = clamp(16 / 2 / 2, 1, 128) = 4 of the
 *    oldest elements at once, so fewer than max_entries survive: 13 (keys 25..37), with 3
 *    nodes left free on the local list after the last refill;
 *  - iteration walks the hash buckets (zero hash seed in the scenario, so the order is fixed),
 *    not insertion or recency order;
 *  - iterating does not count as a use: the map dumped after the read ("dump_map_after") has
 *    the same 13 elements.
 * See ../shared/spec/lru-eviction.md in the project for the eviction model. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

__u32 survivors;   /* .bss */
__u32 lowest = ~0; /* .data */

SEC("iter/bpf_map_elem")
int lru_hash_survivors(struct bpf_iter__bpf_map_elem *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	__u32 *key = ctx->key;
	__u32 *val = ctx->value;

	if (key == NULL || val == NULL) {
		BPF_SEQ_PRINTF(seq, "%u of %u survived, oldest surviving key %u\n", survivors,
			       ctx->map->max_entries, lowest);
		return 0;
	}
	survivors++;
	if (*key < lowest)
		lowest = *key;
	BPF_SEQ_PRINTF(seq, "key %2u value %u\n", *key, *val);
	return 0;
}
