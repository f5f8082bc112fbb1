// SPDX-License-Identifier: MIT OR Apache-2.0
/* The selftest's oob_write_bpf_sk_storage_map: writes the 4 bytes after a 4-byte value. The
 * verifier accepts it (the value buffer's size is only known at attach), and attaching to a
 * map whose value_size is 4 fails with EACCES (max rdwr access 8 > value_size). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char _license[] SEC("license") = "GPL";

SEC("iter/bpf_sk_storage_map")
int oob_write_bpf_sk_storage_map(struct bpf_iter__bpf_sk_storage_map *ctx)
{
	struct sock *sk = ctx->sk;
	__u32 *val = ctx->value;

	if (sk == (void *)0 || val == (void *)0)
		return 0;
	*(val + 1) = 0xdeadbeef;
	return 0;
}
