// SPDX-License-Identifier: GPL-2.0
// Retransmit probe (retransmits.h): TCP retransmitted segments per connection, attributed to the
// socket's owner. Each hook has a tp_btf program and a raw_tp one with the same body; the agent loads
// one of each pair. The send and receive hooks run on every data syscall of every socket, so their
// reads are plain loads in tp_btf programs (BTF_READ); the rarer hooks read with BPF_CORE_READ alone.
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"
#include "retransmits.h"

char LICENSE[] SEC("license") = "GPL";

/* vmlinux.h carries no errno or address-family values. */
#define EEXIST 17
#define AF_INET 2
#define AF_INET6 10

/* socket address -> owner. LRU: a socket whose close was not seen (the probe attached after) ages out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct sock_owner);
} sock_owners SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tcp_tuple);
	__type(value, struct retransmit_count);
} retransmits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} retransmit_events SEC(".maps");

DEFINE_STATS(RETRANS_STAT_MAX)

/* A TCP socket, not a raw IP one of protocol TCP (which retransmits nothing and never closes through
 * inet_sock_set_state). Protocol first: it rejects most sockets with one load. */
static __always_inline bool is_tcp(const struct sock *sk, bool btf)
{
	__u16 family;

	if (BTF_READ(btf, sk, sk_protocol) != IPPROTO_TCP || BTF_READ(btf, sk, sk_type) != SOCK_STREAM)
		return false;
	family = BTF_READ(btf, sk, __sk_common.skc_family);
	return family == AF_INET || family == AF_INET6;
}

/* The current task owns `sk`: called in task context only (connect, listen, send, receive). */
static __always_inline void own(const struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct task_struct *task;
	__u64 id;
	long err;
	struct sock_owner owner = {};

	if (bpf_map_lookup_elem(&sock_owners, &key))
		return;
	task = (struct task_struct *)bpf_get_current_task();
	id = bpf_get_current_pid_tgid();
	owner.tgid = id >> 32;
	owner.tid = (__u32)id;
	/* Runs once per socket: the probe reads serve both kinds of program. */
	owner.cgroup_id = cpu_cgroup_id(task, false);
	bpf_get_current_comm(&owner.comm, sizeof(owner.comm));
	/* An LRU map evicts rather than fills up: an error other than a racing insert is an allocation failure. */
	err = bpf_map_update_elem(&sock_owners, &key, &owner, BPF_NOEXIST);
	if (err && err != -EEXIST)
		stat_inc(RETRANS_STAT_OWNERS_FULL);
}

static __always_inline void on_state(const struct sock *sk, int newstate)
{
	__u64 key = (__u64)sk;

	if (!is_tcp(sk, false))
		return;
	if (newstate == TCP_CLOSE)
		bpf_map_delete_elem(&sock_owners, &key);
	else if (newstate == TCP_SYN_SENT || newstate == TCP_LISTEN) /* connect(), listen(): in the caller's context */
		own(sk);
}

static __always_inline void on_data(const struct sock *sk, bool btf)
{
	if (is_tcp(sk, btf))
		own(sk);
}

/* `c` is a struct sock_common: of a socket, or of a request socket (a SYN-ACK's). */
static __always_inline void read_tuple(const struct sock_common *c, struct tcp_tuple *t)
{
	t->family = BPF_CORE_READ(c, skc_family);
	t->local_port = BPF_CORE_READ(c, skc_num);
	t->remote_port = bpf_ntohs(BPF_CORE_READ(c, skc_dport));
	if (t->family == AF_INET6) {
		BPF_CORE_READ_INTO(&t->local_addr, c, skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&t->remote_addr, c, skc_v6_daddr.in6_u.u6_addr8);
	} else {
		BPF_CORE_READ_INTO((__u32 *)t->local_addr, c, skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)t->remote_addr, c, skc_daddr);
	}
}

/* Counts one retransmission of `segments` on the connection `c`, owned by the owner of `owner_sk`. */
static __always_inline void count(const struct sock_common *c, const struct sock *owner_sk, __u32 segments, bool synack)
{
	struct tcp_tuple tuple = {};
	struct retransmit_count *rc;
	struct retransmit_event *e;
	struct sock_owner *owner;
	__u64 key = (__u64)owner_sk, now = bpf_ktime_get_ns();
	__u8 state = BPF_CORE_READ(c, skc_state);

	stat_inc(RETRANS_STAT_HITS);
	read_tuple(c, &tuple);
	/* Never the current task: this runs in softirq (timers, ACK processing) as often as not. */
	owner = bpf_map_lookup_elem(&sock_owners, &key);
	if (!owner)
		stat_inc(RETRANS_STAT_NO_OWNER);
	rc = bpf_map_lookup_elem(&retransmits, &tuple);
	if (!rc) {
		struct retransmit_count fresh = { .first_ns = now };
		long err;

		if (owner)
			fresh.owner = *owner;
		err = bpf_map_update_elem(&retransmits, &tuple, &fresh, BPF_NOEXIST);
		if (err && err != -EEXIST) {
			stat_inc(RETRANS_STAT_CONNS_FULL);
			rc = 0;
		} else {
			rc = bpf_map_lookup_elem(&retransmits, &tuple);
		}
	}
	if (rc) {
		if (owner && !rc->owner.tgid)
			rc->owner = *owner;
		__sync_fetch_and_add(&rc->segments, segments);
		__sync_fetch_and_add(&rc->hits, 1);
		rc->last_ns = now;
		rc->state = state;
		if (synack)
			rc->synack = 1;
	}

	e = bpf_ringbuf_reserve(&retransmit_events, sizeof(*e), 0);
	if (!e) {
		stat_inc(RETRANS_STAT_EVENTS_LOST);
		return;
	}
	e->ts_ns = now;
	e->tuple = tuple;
	e->segments = segments;
	e->tgid = owner ? owner->tgid : 0;
	e->state = state;
	e->synack = synack;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void on_retransmit_skb(const struct sock *sk, const struct sk_buff *skb, int err)
{
	const struct tcp_skb_cb *cb;
	__u32 segments;

	/* Not sent: the kernel's TcpRetransSegs does not count it either. */
	if (err) {
		stat_inc(RETRANS_STAT_FAILED);
		return;
	}
	/* tcp_skb_pcount(skb): TCP_SKB_CB(skb)->tcp_gso_segs, the segments this skb carries. */
	cb = (const struct tcp_skb_cb *)((const void *)skb + bpf_core_field_offset(struct sk_buff, cb));
	segments = BPF_CORE_READ(cb, tcp_gso_segs);
	count(&sk->__sk_common, sk, segments ? segments : 1, false);
}

/* The SYN-ACK of a connection not yet accepted: its tuple is the request socket's, its owner the listener's. */
static __always_inline void on_retransmit_synack(const struct sock *listener, const struct request_sock *req)
{
	count(&req->__req_common, listener, 1, true);
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(retransmit_skb_btf, const struct sock *sk, const struct sk_buff *skb, int err)
{
	on_retransmit_skb(sk, skb, err);
	return 0;
}

SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(retransmit_synack_btf, const struct sock *sk, const struct request_sock *req)
{
	on_retransmit_synack(sk, req);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(set_state_btf, const struct sock *sk, const int oldstate, const int newstate)
{
	on_state(sk, newstate);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(send_btf, struct sock *sk) { on_data(sk, true); return 0; }

SEC("tp_btf/sock_recv_length")
int BPF_PROG(recv_btf, struct sock *sk) { on_data(sk, true); return 0; }

SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(retransmit_skb_raw, const struct sock *sk, const struct sk_buff *skb, int err)
{
	on_retransmit_skb(sk, skb, err);
	return 0;
}

SEC("raw_tp/tcp_retransmit_synack")
int BPF_PROG(retransmit_synack_raw, const struct sock *sk, const struct request_sock *req)
{
	on_retransmit_synack(sk, req);
	return 0;
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(set_state_raw, const struct sock *sk, const int oldstate, const int newstate)
{
	on_state(sk, newstate);
	return 0;
}

SEC("raw_tp/sock_send_length")
int BPF_PROG(send_raw, struct sock *sk) { on_data(sk, false); return 0; }

SEC("raw_tp/sock_recv_length")
int BPF_PROG(recv_raw, struct sock *sk) { on_data(sk, false); return 0; }
