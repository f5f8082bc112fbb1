// SPDX-License-Identifier: MIT OR Apache-2.0
/* Socket local storage, the selftest's way (bpf_iter_bpf_sk_storage_map): for each socket
 * with storage in the iterated sk_storage map, count the IPv6 ones, add the stored value to
 * a sum, then add to_add_val to the stored value (the write persists in the socket's
 * storage). The final call (sk and value NULL) prints the totals. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define AF_INET6 10

char _license[] SEC("license") = "GPL";

__u32 val_sum = 0;       /* .bss */
__u32 ipv6_sk_count = 0; /* .bss */
__u32 to_add_val = 10;   /* .data */

SEC("iter/bpf_sk_storage_map")
int rw_bpf_sk_storage_map(struct bpf_iter__bpf_sk_storage_map *ctx)
{
	struct sock *sk = ctx->sk;
	__u32 *val = ctx->value;

	if (sk == (void *)0 || val == (void *)0) {
		BPF_SEQ_PRINTF(ctx->meta->seq, "ipv6 sockets: %u, value sum: %u\n",
			       ipv6_sk_count, val_sum);
		return 0;
	}
	/* vmlinux.h has no sk_family macro: go through __sk_common. */
	if (sk->__sk_common.skc_family == AF_INET6)
		ipv6_sk_count++;
	val_sum += *val;
	*val += to_add_val;
	return 0;
}
