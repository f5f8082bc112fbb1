// SPDX-License-Identifier: MIT OR Apache-2.0
/* The selftest's delete_bpf_sk_storage_map (bpf_iter_bpf_sk_storage_helpers.c): the iterator
 * is attached to the object's own sk_stg_map (the scenario's map has that name) and calls
 * bpf_sk_storage_delete on each socket it visits, which empties the map; deleting the element
 * being visited does not stop the walk. Before deleting, it counts the visit in another
 * sk_storage map, sk_seen, with bpf_sk_storage_get(..., BPF_SK_STORAGE_GET_F_CREATE), which
 * creates a zero-filled value the first time. A second session finds nothing to visit. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define BPF_F_NO_PREALLOC 1 /* uapi bpf.h; examples/vmlinux.h is minimal */
#define BPF_SK_STORAGE_GET_F_CREATE 1

char _license[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, int);
} sk_stg_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u32);
} sk_seen SEC(".maps");

__u32 deleted = 0; /* .bss */

SEC("iter/bpf_sk_storage_map")
int delete_bpf_sk_storage_map(struct bpf_iter__bpf_sk_storage_map *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct sock *sk = ctx->sk;
	__u32 *seen;
	long err;

	if (!sk) {
		BPF_SEQ_PRINTF(seq, "deleted %u\n", deleted);
		return 0;
	}
	seen = bpf_sk_storage_get(&sk_seen, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (seen)
		*seen += 1;
	err = bpf_sk_storage_delete(&sk_stg_map, sk);
	if (!err)
		deleted++;
	BPF_SEQ_PRINTF(seq, "port %u delete %ld\n", sk->__sk_common.skc_num, err);
	return 0;
}
