// SPDX-License-Identifier: MIT OR Apache-2.0
/* A hash map with a struct key, the way the kernel's bpf_hash_map iterator selftest uses it.
 *
 * Teaches:
 *  - the key is a 12-byte struct {a, b, c}: ctx->key points at the element's key (for a hash
 *    map, the map's own storage of it), which the verifier types read-only (rdonly_buf); the
 *    program may read up to key_size bytes (the attach check compares the furthest read with
 *    the map's key_size);
 *  - totals kept in .bss globals survive from call to call and are printed in the final call,
 *    where ctx->key and ctx->value are NULL;
 *  - the framing of bpftool's demo mode for this selftest: a header when meta->seq_num == 0
 *    (the first call of the session) and a footer in the stop call. Beware: the stop call sees
 *    the seq_num of the LAST element (seq_num grows only when a next element exists), not
 *    last+1. So an empty map prints both lines, and a 1-element map prints the header twice
 *    (tests/examples.rs shows both); test `ctx->key != NULL` too to avoid that.
 * Scenario: keys (i+1, i+2, i+3) -> i+4 for i = 0..2, so the sums are a=6, b=9, c=12, v=15.
 * Unlike bpftool's demo it never prints map->id (a kernel-wide counter), so the output is
 * the same on every machine. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

struct triple {
	__u32 a;
	__u32 b;
	__u32 c;
};

__u32 sum_a, sum_b, sum_c; /* .bss */
__u64 sum_v;               /* .bss */

SEC("iter/bpf_map_elem")
int selftest_hash_map(struct bpf_iter__bpf_map_elem *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct triple *k = ctx->key;
	__u64 *v = ctx->value;

	if (ctx->meta->seq_num == 0)
		BPF_SEQ_PRINTF(seq, "map dump starts\n");

	if (k == NULL || v == NULL) {
		BPF_SEQ_PRINTF(seq, "key_sum_a=%u key_sum_b=%u key_sum_c=%u val_sum=%llu\n",
			       sum_a, sum_b, sum_c, sum_v);
		BPF_SEQ_PRINTF(seq, "map dump ends\n");
		return 0;
	}

	sum_a += k->a;
	sum_b += k->b;
	sum_c += k->c;
	sum_v += *v;
	BPF_SEQ_PRINTF(seq, "(%u %u %u) -> %llu\n", k->a, k->b, k->c, *v);
	return 0;
}
