// SPDX-License-Identifier: MIT OR Apache-2.0
/* Dump a hash map {u32 key -> u64 value}: a header on the first call, one line per element
 * (printed by a non-inlined subprogram, so the object has a .text section and a bpf-to-bpf
 * call), and a footer with the element count and value total on the final NULL call. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

__u32 elems;             /* .bss */
__u64 total;             /* .bss */
__u64 value_scale = 1;   /* .data */

static __noinline int print_elem(struct seq_file *seq, __u32 key, __u64 value)
{
	BPF_SEQ_PRINTF(seq, "%8u -> %llu\n", key, value * value_scale);
	return 0;
}

SEC("iter/bpf_map_elem")
int hash_dump(struct bpf_iter__bpf_map_elem *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct bpf_map *map = ctx->map;
	__u32 *key = ctx->key;
	__u64 *val = ctx->value;

	/* map->id is readable too, but it is a kernel-wide counter that differs from machine to
	 * machine, so the output leaves it out; ids start at 1, so 0 would mean no map. */
	if (map->id == 0)
		return 0;
	if (ctx->meta->seq_num == 0 && key)
		BPF_SEQ_PRINTF(seq, "map %s (type %u, max %u)\n", map->name, map->map_type,
			       map->max_entries);
	if (!key || !val) {
		BPF_SEQ_PRINTF(seq, "%u elements, total %llu\n", elems, total);
		return 0;
	}
	elems++;
	total += *val;
	return print_elem(seq, *key, *val);
}
