// SPDX-License-Identifier: MIT OR Apache-2.0
/* An array map {u32 -> u64} dumped as binary records, the way the kernel's bpf_array_map
 * iterator selftest reads it.
 *
 * Teaches:
 *  - bpf_seq_write() copies raw bytes into the iterator's output: each element becomes a
 *    12-byte record, the 4 key bytes then the 8 value bytes (little endian), and userspace
 *    parses the stream itself. Array maps are walked in index order, so the first record is
 *    always key 0;
 *  - ctx->value of a (non-per-CPU) map points into the map itself: the store `*val = *key`
 *    changes the map, which the scenario shows with "dump_map_after" (afterwards map[i] == i);
 *    ctx->key is read-only, so the opposite store would be rejected by the verifier;
 *  - the final NULL call appends one more 12-byte record with the totals: key_sum (u32) and
 *    val_sum (u64) of the values as they were before the overwrite.
 * Scenario: 3 slots, val[i] = i+4: records (0,4) (1,5) (2,6), then totals (3, 15). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

__u32 key_sum; /* .bss */
__u64 val_sum; /* .bss */

SEC("iter/bpf_map_elem")
int selftest_array_map(struct bpf_iter__bpf_map_elem *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	__u32 *key = ctx->key;
	__u64 *val = ctx->value;

	if (key == NULL || val == NULL) {
		/* same record shape: 4 bytes of key_sum, 8 bytes of val_sum */
		bpf_seq_write(seq, &key_sum, sizeof(key_sum));
		bpf_seq_write(seq, &val_sum, sizeof(val_sum));
		return 0;
	}

	bpf_seq_write(seq, key, sizeof(*key));
	bpf_seq_write(seq, val, sizeof(*val));
	key_sum += *key;
	val_sum += *val;
	*val = *key; /* persists: the value buffer is the map's own storage */
	return 0;
}
