#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
char _license[] SEC("license") = "GPL";
SEC("iter/bpf_sk_storage_map")
int dump(struct bpf_iter__bpf_sk_storage_map *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct sock *sk = ctx->sk;
	__u32 *val = ctx->value;
	if (!sk || !val) {
		BPF_SEQ_PRINTF(seq, "stop seq_num %llu\n", ctx->meta->seq_num);
		return 0;
	}
	BPF_SEQ_PRINTF(seq, "family %u type %u proto %u state %u value %u\n",
		       sk->__sk_common.skc_family, sk->sk_type, sk->sk_protocol,
		       sk->__sk_common.skc_state, *val);
	*val += 100;
	return 0;
}
