// SPDX-License-Identifier: MIT OR Apache-2.0
/* A per-CPU hash map with a struct key, the way the kernel's bpf_percpu_hash_map iterator
 * selftest uses it.
 *
 * Teaches:
 *  - for per-CPU maps ctx->value is not one value but a private buffer holding every possible
 *    CPU's value, CPU after CPU, each in a slot of round_up(value_size, 8) bytes: with a u32
 *    value, CPU 0 is at offset 0 and CPU 1 at offset 8 (not 4);
 *  - the CPU count comes from a `const volatile` global in .rodata. The loader can set it
 *    before loading (libbpf skeletons do: skel->rodata->num_cpus = ...); the kernel freezes
 *    .rodata, so the verifier sees a constant and accepts the bounded loop. This object keeps
 *    the default 2, matching the emulator's default CPU count;
 *  - writes into that buffer would not reach the map (it is a copy), so this program only reads.
 * Scenario: keys (i+1, i+2, i+3), value on CPU j = i+j, for i = 0..2: key sums a=6, b=9 and,
 * with 2 CPUs, val_sum = (0+1) + (1+2) + (2+3) = 9. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

struct triple {
	__u32 a;
	__u32 b;
	__u32 c;
};

const volatile __u32 num_cpus = 2; /* .rodata */

__u32 key_sum_a, key_sum_b, key_sum_c, val_sum; /* .bss */

SEC("iter/bpf_map_elem")
int selftest_percpu_hash_map(struct bpf_iter__bpf_map_elem *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct triple *k = ctx->key;
	void *slot = ctx->value;
	__u32 cpu;

	if (k == NULL || slot == NULL) {
		BPF_SEQ_PRINTF(seq, "key_sum_a=%u key_sum_b=%u key_sum_c=%u val_sum=%u\n",
			       key_sum_a, key_sum_b, key_sum_c, val_sum);
		return 0;
	}

	key_sum_a += k->a;
	key_sum_b += k->b;
	key_sum_c += k->c;
	BPF_SEQ_PRINTF(seq, "(%u %u %u):", k->a, k->b, k->c);
	for (cpu = 0; cpu < num_cpus; cpu++) {
		__u32 v = *(__u32 *)slot;

		val_sum += v;
		BPF_SEQ_PRINTF(seq, " cpu%u=%u", cpu, v);
		slot += 8; /* round_up(sizeof(__u32), 8) */
	}
	BPF_SEQ_PRINTF(seq, "\n");
	return 0;
}
