// SPDX-License-Identifier: MIT OR Apache-2.0
/* Which keys survive when an LRU per-CPU hash map is filled past max_entries?
 *
 * Teaches:
 *  - an LRU per-CPU hash (without BPF_F_NO_COMMON_LRU) evicts exactly like an LRU hash: the
 *    scenario inserts keys 1..40 into a 16-entry map from CPU 0, each refill evicts the 4
 *    oldest elements (target_free = 16 / 2 / 2), and 16 keys (25..40) survive;
 *  - each survivor still carries one u64 per possible CPU (the scenario's generator gives
 *    CPU j the value key + 100*j), laid out in 8-byte slots in ctx->value;
 *  - num_cpus is a `const volatile` .rodata global a loader may set before load (default 2).
 * The map is dumped again after the read ("dump_map_after"). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

const volatile __u32 num_cpus = 2; /* .rodata */

__u32 survivors; /* .bss */

SEC("iter/bpf_map_elem")
int lru_percpu_hash_survivors(struct bpf_iter__bpf_map_elem *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	__u32 *key = ctx->key;
	__u64 *slots = ctx->value;
	__u32 cpu;

	if (key == NULL || slots == NULL) {
		BPF_SEQ_PRINTF(seq, "%u of %u survived\n", survivors, ctx->map->max_entries);
		return 0;
	}
	survivors++;
	BPF_SEQ_PRINTF(seq, "key %2u:", *key);
	for (cpu = 0; cpu < num_cpus; cpu++)
		BPF_SEQ_PRINTF(seq, " cpu%u=%llu", cpu, slots[cpu]);
	BPF_SEQ_PRINTF(seq, "\n");
	return 0;
}
