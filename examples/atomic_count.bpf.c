// SPDX-License-Identifier: MIT OR Apache-2.0
/* Number the elements and add up their values with atomic adds on globals (.bss): the
 * fetching __sync_fetch_and_add hands each element its 0-based position (BPF_ATOMIC
 * BPF_ADD | BPF_FETCH), the other one, whose result is unused, is a plain
 * `lock *(u64 *)(r1 +0) += r2`. rbpf cannot execute atomics, so the emulator runs this
 * program on its tracing interpreter (the report says `engine: tracer`). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

__u64 count; /* .bss */
__u64 total; /* .bss */

SEC("iter/bpf_map_elem")
int atomic_count(struct bpf_iter__bpf_map_elem *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	__u32 *key = ctx->key;
	__u64 *val = ctx->value;
	__u64 pos;

	if (!key || !val) {
		BPF_SEQ_PRINTF(seq, "%llu elements, total %llu\n", count, total);
		return 0;
	}
	pos = __sync_fetch_and_add(&count, 1);
	__sync_fetch_and_add(&total, *val);
	BPF_SEQ_PRINTF(seq, "#%llu key %u value %llu\n", pos, *key, *val);
	return 0;
}
