#ifndef KILN_RETRANSMITS_H
#define KILN_RETRANSMITS_H

/* Retransmit probe (retransmits.bpf.c): TCP retransmissions counted per connection in segments, as
 * the kernel's TcpRetransSegs counts them (tcp_skb_pcount of each retransmitted skb; a SYN-ACK is
 * one), and attributed to the process that owns the socket. The tracepoints fire in softirq, where
 * `current` is whoever was interrupted: the owner is looked up by socket in `sock_owners`, filled in
 * task context (connect, the socket's first send or receive) and emptied when the socket closes. */

/* A connection as the local end sees it. Addresses in network order, IPv4 in the first 4 bytes. */
struct tcp_tuple {
	__u8 family;       /* AF_INET (2) or AF_INET6 (10) */
	__u8 pad[3];
	__u16 local_port;  /* host order */
	__u16 remote_port; /* host order */
	__u8 local_addr[16];
	__u8 remote_addr[16];
};

/* Who owns a socket: the task that connected it, or first sent or received on it. */
struct sock_owner {
	__u64 cgroup_id;   /* CPU controller cgroup id, as in sched.h */
	__u32 tgid;
	__u32 tid;
	char comm[16];
};

/* Retransmissions of one connection since the agent last drained the map (key: struct tcp_tuple). */
struct retransmit_count {
	struct sock_owner owner; /* tgid 0: unknown (the socket did nothing in task context since the agent started) */
	__u64 segments;    /* retransmitted segments (TcpRetransSegs' unit) */
	__u64 hits;        /* tracepoint hits: retransmitted skbs and SYN-ACKs */
	__u64 first_ns;    /* bpf_ktime_get_ns() of the first and last in this drain period */
	__u64 last_ns;
	__u8 state;        /* TCP state at the last retransmit (TCP_ESTABLISHED = 1, … as include/net/tcp_states.h) */
	__u8 synack;       /* 1 if any was a SYN-ACK */
	__u8 pad[6];
};

/* One retransmit, as a ring buffer record (fixed size), so that the agent can put it in the span
 * that was open on its connection at the time. */
struct retransmit_event {
	__u64 ts_ns;
	struct tcp_tuple tuple;
	__u32 segments;
	__u32 tgid;        /* owner, 0 if unknown */
	__u8 state;
	__u8 synack;
	__u8 pad[6];
};

enum retransmit_stat {
	RETRANS_STAT_HITS = 0,        /* tracepoint hits counted */
	RETRANS_STAT_FAILED,          /* retransmits the kernel did not send (err != 0: not in TcpRetransSegs either) */
	RETRANS_STAT_NO_OWNER,        /* counted with an unknown owner */
	RETRANS_STAT_CONNS_FULL,      /* not counted: connection map full */
	RETRANS_STAT_OWNERS_FULL,     /* an owner not recorded: owner map full */
	RETRANS_STAT_EVENTS_LOST,     /* ring buffer full */
	RETRANS_STAT_MAX,
};

#endif
