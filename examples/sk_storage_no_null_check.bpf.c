// SPDX-License-Identifier: MIT OR Apache-2.0
/* Rejected: ctx->sk is NULL in the final call, and the verifier types it
 * ptr_or_null_sock; reading a field without the NULL check fails to load with
 * "invalid mem access 'ptr_or_null_'" (EACCES), as on Linux. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char _license[] SEC("license") = "GPL";

SEC("iter/bpf_sk_storage_map")
int no_null_check(struct bpf_iter__bpf_sk_storage_map *ctx)
{
	struct sock *sk = ctx->sk;
	__u32 *val = ctx->value;

	BPF_SEQ_PRINTF(ctx->meta->seq, "family %u\n", sk->__sk_common.skc_family);
	if (val)
		*val += 1;
	return 0;
}
