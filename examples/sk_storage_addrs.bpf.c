// SPDX-License-Identifier: MIT OR Apache-2.0
/* One line per socket with storage: family, protocol, local address and port (%pI4 / %pI6
 * read the address through a pointer into struct sock), TCP state and the stored value.
 * skc_num is the local port in host byte order. The line order follows the map's storage
 * order, which on Linux depends on kernel addresses: compare the lines as a multiset. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define AF_INET 2
#define AF_INET6 10

char _license[] SEC("license") = "GPL";

SEC("iter/bpf_sk_storage_map")
int sk_addrs(struct bpf_iter__bpf_sk_storage_map *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct sock *sk = ctx->sk;
	__u32 *val = ctx->value;

	if (!sk || !val)
		return 0;
	__u16 family = sk->__sk_common.skc_family;
	__u16 port = sk->__sk_common.skc_num;
	__u16 proto = sk->sk_protocol;
	__u8 state = sk->__sk_common.skc_state;

	if (family == AF_INET)
		BPF_SEQ_PRINTF(seq, "inet  proto %u %pI4:%u state %u value %u\n", proto,
			       &sk->__sk_common.skc_rcv_saddr, port, state, *val);
	else if (family == AF_INET6)
		BPF_SEQ_PRINTF(seq, "inet6 proto %u [%pI6]:%u state %u value %u\n", proto,
			       &sk->__sk_common.skc_v6_rcv_saddr, port, state, *val);
	return 0;
}
