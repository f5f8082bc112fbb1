// SPDX-License-Identifier: MIT OR Apache-2.0
// A tiny program without CO-RE for the `clang -S` fixture clang_s.s (tests/asm.rs): a
// map, a .bss global, a .rodata format and a .text subprogram.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char _license[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} total SEC(".maps");

__u64 calls;

static __noinline int bump(__u64 *v, __u64 by)
{
	*v += by;
	return 0;
}

SEC("iter/bpf_map_elem")
int noco(struct bpf_iter__bpf_map_elem *ctx)
{
	__u32 zero = 0;
	__u64 *t;
	__u32 *val = ctx->value;

	calls++;
	if (!val) {
		t = bpf_map_lookup_elem(&total, &zero);
		if (t)
			BPF_SEQ_PRINTF(ctx->meta->seq, "total %llu over %llu calls\n", *t, calls);
		return 0;
	}
	t = bpf_map_lookup_elem(&total, &zero);
	if (t)
		bump(t, *val);
	return 0;
}
