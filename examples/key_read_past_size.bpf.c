// SPDX-License-Identifier: MIT OR Apache-2.0
/* A program that reads 4 bytes at offset 12 of the key: fine for a 16-byte key, out of bounds
 * for a 12-byte one (the pattern of the kernel selftest bpf_iter_test_kern5.c).
 *
 * Teaches: the verifier cannot know the key size when it loads a map-element iterator (the
 * program is not tied to a map yet), so it only records the furthest read through ctx->key
 * (max_rdonly_access = 12 + 4 = 16 here) and LOADS the program. The size is checked when the
 * program is attached to a concrete map:
 *  - key_read_past_size.json, 12-byte key: load ok, attach fails with
 *    `failed: Permission denied (EACCES)` (16 > key_size 12; libbpf prints
 *    "failed to attach to iterator: Permission denied"), nothing is read;
 *  - key_read_past_size_16.json, 16-byte key: attach ok; prints the 4th u32 of every key and
 *    their total (40 + 2 = 42).
 * The same holds for ctx->value, checked against value_size (per-CPU maps: the whole
 * round_up(value_size, 8) * possible-CPUs buffer). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

__u64 fourth_sum; /* .bss */

SEC("iter/bpf_map_elem")
int key_read_past_size(struct bpf_iter__bpf_map_elem *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	char *key = ctx->key;
	__u32 fourth;

	if (key == NULL) {
		BPF_SEQ_PRINTF(seq, "sum of 4th words: %llu\n", fourth_sum);
		return 0;
	}
	fourth = *(__u32 *)(key + 12); /* bytes 12..15: needs key_size >= 16 */
	fourth_sum += fourth;
	BPF_SEQ_PRINTF(seq, "key (%u %u %u) 4th word %u\n", *(__u32 *)key, *(__u32 *)(key + 4),
		       *(__u32 *)(key + 8), fourth);
	return 0;
}
