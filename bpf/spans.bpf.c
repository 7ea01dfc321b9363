// SPDX-License-Identifier: GPL-2.0
// Span capture: the data syscalls of TCP connections become socket events (spans.h). Syscall
// tracepoints, not kprobes or fentry: this is what every kernel we run on offers (the doctor
// reports whether fentry would be allowed). Arguments are saved per thread at entry and acted on
// at exit, where the byte count is known and a read's buffer holds the data.
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"
#include "spans.h"

/* vmlinux.h carries no errno or libc values. */
#define EINPROGRESS 115
#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define S_IFMT 00170000
#define S_IFSOCK 0140000

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 agent_tgid = 0;
const volatile bool filter_tgids = false;
const volatile bool filter_cgroups = false;
const volatile __u32 payload_bytes = SPAN_PAYLOAD_DEFAULT;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} span_tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} span_cgroups SEC(".maps");

/* LRU: negative answers for every pipe and file a followed process touches live here too, and the
 * least recently used go first when it fills. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct conn);
} conns SEC(".maps");

THREAD_SPANS_MAP;

enum syscall_kind {
	SYS_READ = 1,
	SYS_WRITE,
	SYS_ACCEPT,
	SYS_CONNECT,
};

/* A syscall in flight on one thread, from its entry to its exit. */
struct pending {
	__u64 buf;    /* the buffer, or the first iovec (vector calls), at entry */
	__s32 fd;
	__u8 op;      /* enum syscall_kind */
	__u8 vector;  /* buf points at a struct iovec */
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct pending);
} pendings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

DEFINE_STATS(SPAN_STAT_MAX)

/* An event is built here and copied to the ring at its real length: reserving room for the
 * largest payload in the ring would use four times the ring at the default capture size. The
 * payload is copied in pieces (one per iovec) at an offset and with a length the verifier is shown
 * bounded by a mask each (see copy_piece); a power-of-2 mask covering SPAN_PAYLOAD_MAX reaches
 * twice it, and offset plus length twice that. */
#define PAYLOAD_MASK (2 * SPAN_PAYLOAD_MAX - 1)
struct event_buf {
	struct socket_event e;
	__u8 payload[2 * (PAYLOAD_MASK + 1)];
};

/* The iovecs a vector call's payload is read from. A client writes a request as several small
 * iovecs (node's pg: Parse, Bind, Describe, Execute, Sync in one writev), so the first alone
 * often misses its end; past 8 the payload is full or the iovecs are too small to matter. */
#define PAYLOAD_IOVECS 8

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct event_buf);
} scratch SEC(".maps");

/* Cheapest first: a constant, then one hash lookup each. */
static __always_inline bool wanted(__u32 tgid)
{
	if (tgid == agent_tgid)
		return false;
	if (filter_tgids && !bpf_map_lookup_elem(&span_tgids, &tgid))
		return false;
	if (filter_cgroups) {
		__u64 cg = bpf_get_current_cgroup_id();
		if (!bpf_map_lookup_elem(&span_cgroups, &cg))
			return false;
	}
	return true;
}

static __always_inline __u64 conn_key(__u32 tgid, __s32 fd)
{
	return (__u64)tgid << 32 | (__u32)fd;
}

static __always_inline __u64 random_id(void)
{
	__u64 id = (__u64)bpf_get_prandom_u32() << 32 | bpf_get_prandom_u32();
	return id ? id : 1;
}

/* The sock behind `fd` of the current task if it is a TCP socket over IPv4 or IPv6, else NULL. */
static __always_inline struct sock *tcp_sock_of(__s32 fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds, *file = NULL;
	struct socket *sock;
	struct sock *sk;
	__u16 family;

	if (fd < 0 || (__u32)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_core_read(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	if ((BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	if (!sock || BPF_CORE_READ(sock, type) != SOCK_STREAM)
		return NULL;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return NULL;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	return family == AF_INET || family == AF_INET6 ? sk : NULL;
}

/* Follows `fd` with `role`, or caches that it is not TCP. Returns the entry, or NULL if the map
 * refused it. */
static __always_inline struct conn *follow(__u64 key, __s32 fd, __u8 role)
{
	struct sock *sk = tcp_sock_of(fd);
	struct conn c = {};

	if (sk) {
		c.id = random_id();
		c.role = role;
		c.tcp = 1;
		c.family = BPF_CORE_READ(sk, __sk_common.skc_family);
		c.local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
		c.remote_port = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
		if (c.family == AF_INET) {
			BPF_CORE_READ_INTO(&c.local_addr, sk, __sk_common.skc_rcv_saddr);
			BPF_CORE_READ_INTO(&c.remote_addr, sk, __sk_common.skc_daddr);
		} else {
			BPF_CORE_READ_INTO(&c.local_addr, sk, __sk_common.skc_v6_rcv_saddr);
			BPF_CORE_READ_INTO(&c.remote_addr, sk, __sk_common.skc_v6_daddr);
		}
	}
	if (bpf_map_update_elem(&conns, &key, &c, BPF_ANY)) {
		stat_inc(SPAN_STAT_CONNS_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(&conns, &key);
}

static __always_inline void stamp(__u32 tid, __u64 span_id)
{
	struct thread_span *t = bpf_map_lookup_elem(&thread_spans, &tid);
	struct thread_span fresh = { .span_id = span_id, .open = 1 };

	if (t) {
		t->span_id = span_id;
		t->open++;
	} else if (bpf_map_update_elem(&thread_spans, &tid, &fresh, BPF_ANY)) {
		stat_inc(SPAN_STAT_THREADS_FULL);
	}
}

static __always_inline void unstamp(__u32 tid)
{
	struct thread_span *t = bpf_map_lookup_elem(&thread_spans, &tid);

	if (!t)
		return;
	if (t->open <= 1)
		bpf_map_delete_elem(&thread_spans, &tid);
	else
		t->open--;
}

/* `n` (at most PAYLOAD_MASK already) in a form the verifier sees bounded: clang drops a bound
 * checked in C from the register it passes on, a mask in asm survives. */
static __always_inline __u64 bounded(__u64 n)
{
	asm volatile("%[n] &= %[mask]" : [n] "+r"(n) : [mask] "i"(PAYLOAD_MASK));
	return n;
}

/* Copies `len` bytes from user memory at `src` to `dst + off` (off + len at most SPAN_PAYLOAD_MAX). */
static __always_inline bool copy_piece(__u8 *dst, __u32 off, __u64 src, __u32 len)
{
	if (bpf_probe_read_user(dst + bounded(off), bounded(len), (void *)src)) {
		stat_inc(SPAN_STAT_PAYLOAD_ERR);
		return false;
	}
	return true;
}

/* The first bytes of what the syscall moved, up to the capture size: its buffer, or its iovecs'
 * in order. Returns how many were copied, a prefix of the data even when a piece fails. */
static __always_inline __u32 copy_payload(__u8 *dst, const struct pending *p, __u32 moved)
{
	__u32 n = moved < payload_bytes ? moved : payload_bytes;
	__u32 off = 0;

	if (n > SPAN_PAYLOAD_MAX)
		n = SPAN_PAYLOAD_MAX;
	if (n == 0)
		return 0;
	if (!p->vector)
		return copy_piece(dst, 0, p->buf, n) ? n : 0;
	/* The iovecs fill in order and n is at most what moved, so every iovec read while off < n is
	 * within the call's iovec count, which is therefore not needed. */
	for (__u32 i = 0; i < PAYLOAD_IOVECS && off < n; i++) {
		struct iovec iov = {};
		__u32 len;

		if (bpf_probe_read_user(&iov, sizeof(iov), (void *)(p->buf + i * sizeof(iov)))) {
			stat_inc(SPAN_STAT_PAYLOAD_ERR);
			break;
		}
		len = iov.iov_len < n - off ? iov.iov_len : n - off;
		if (len && !copy_piece(dst, off, (__u64)iov.iov_base, len))
			break;
		off += len;
	}
	return off;
}

static __always_inline void emit(struct conn *c, const struct pending *p, __u64 id, __u8 kind, __u8 flags, __u32 moved)
{
	__u32 zero = 0;
	struct event_buf *b = bpf_map_lookup_elem(&scratch, &zero);
	__u32 captured = 0;

	if (!b)
		return;
	if (p)
		captured = copy_payload(b->payload, p, moved);
	b->e.ts_ns = bpf_ktime_get_ns();
	b->e.conn_id = c->id;
	b->e.span_id = c->span_id;
	b->e.tgid = id >> 32;
	b->e.tid = (__u32)id;
	b->e.fd = p ? p->fd : 0;
	b->e.bytes = moved;
	b->e.captured = captured;
	b->e.kind = kind;
	b->e.role = c->role;
	b->e.flags = flags | (moved > captured ? EVENT_TRUNCATED : 0);
	b->e.family = c->family;
	b->e.local_port = c->local_port;
	b->e.remote_port = c->remote_port;
	b->e.pad = 0;
	__builtin_memcpy(b->e.local_addr, c->local_addr, sizeof(c->local_addr));
	__builtin_memcpy(b->e.remote_addr, c->remote_addr, sizeof(c->remote_addr));
	if (bpf_ringbuf_output(&events, b, sizeof(b->e) + bounded(captured), 0)) {
		stat_inc(SPAN_STAT_EVENTS_LOST);
		return;
	}
	stat_inc(SPAN_STAT_EVENTS);
}

/* Moves the connection through its exchange and returns the event's flags. */
static __always_inline __u8 advance(struct conn *c, __u8 op, __u32 tid)
{
	bool reading = op == SYS_READ;

	if (c->role == ROLE_SERVER) {
		if (reading && c->phase != PHASE_REQUEST) {
			c->phase = PHASE_REQUEST;
			c->span_id = random_id();
			c->tid = tid;
			stamp(tid, c->span_id);
			return EVENT_REQUEST_START;
		}
		if (!reading && c->phase == PHASE_REQUEST) {
			c->phase = PHASE_RESPONSE;
			unstamp(c->tid);
		}
		return 0;
	}
	/* client */
	if (!reading && c->phase != PHASE_REQUEST) {
		struct thread_span *t = bpf_map_lookup_elem(&thread_spans, &tid);

		c->phase = PHASE_REQUEST;
		c->span_id = t ? t->span_id : 0;
		return EVENT_REQUEST_START;
	}
	if (reading)
		c->phase = PHASE_RESPONSE;
	return 0;
}

static __always_inline void on_data(const struct pending *p, __u64 id, long ret)
{
	__u64 key = conn_key(id >> 32, p->fd);
	struct conn *c = bpf_map_lookup_elem(&conns, &key);
	__u8 flags;

	if (!c)
		c = follow(key, p->fd, p->op == SYS_READ ? ROLE_SERVER : ROLE_CLIENT);
	if (!c || !c->tcp)
		return;
	flags = advance(c, p->op, (__u32)id);
	emit(c, p, id, p->op == SYS_READ ? EVENT_READ : EVENT_WRITE, flags, (__u32)ret);
}

static __always_inline int enter(__s32 fd, __u64 buf, __u8 op, __u8 vector)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct pending p = { .buf = buf, .fd = fd, .op = op, .vector = vector };
	struct conn *c;
	__u64 key;

	if (!wanted(id >> 32))
		return 0;
	/* An fd already judged not TCP (a file, a pipe, a unix socket) costs this one lookup, not a
	 * pending entry written here and looked up and deleted at exit. */
	if (op == SYS_READ || op == SYS_WRITE) {
		key = conn_key(id >> 32, fd);
		c = bpf_map_lookup_elem(&conns, &key);
		if (c && !c->tcp)
			return 0;
	}
	bpf_map_update_elem(&pendings, &tid, &p, BPF_ANY);
	return 0;
}

static __always_inline int leave(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct pending *found = bpf_map_lookup_elem(&pendings, &tid);
	struct pending p;
	__u64 key;

	if (!found)
		return 0;
	p = *found;
	bpf_map_delete_elem(&pendings, &tid);
	switch (p.op) {
	case SYS_READ:
	case SYS_WRITE:
		if (ret > 0)
			on_data(&p, id, ret);
		break;
	case SYS_ACCEPT:
		if (ret >= 0) {
			key = conn_key(id >> 32, (__s32)ret);
			follow(key, (__s32)ret, ROLE_SERVER);
		}
		break;
	case SYS_CONNECT:
		/* A non-blocking connect returns -EINPROGRESS with the connection on its way. */
		if (ret == 0 || ret == -EINPROGRESS) {
			key = conn_key(id >> 32, p.fd);
			follow(key, p.fd, ROLE_CLIENT);
		}
		break;
	}
	return 0;
}

#define ENTER(name, op, vector)                                                    \
	SEC("tracepoint/syscalls/sys_enter_" #name)                                \
	int enter_##name(struct trace_event_raw_sys_enter *ctx)                    \
	{                                                                          \
		return enter((__s32)ctx->args[0], ctx->args[1], op, vector);        \
	}                                                                          \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                 \
	int exit_##name(struct trace_event_raw_sys_exit *ctx)                      \
	{                                                                          \
		return leave(ctx->ret);                                            \
	}

ENTER(read, SYS_READ, 0)
ENTER(recvfrom, SYS_READ, 0)
ENTER(readv, SYS_READ, 1)
ENTER(write, SYS_WRITE, 0)
ENTER(sendto, SYS_WRITE, 0)
ENTER(writev, SYS_WRITE, 1)
ENTER(accept, SYS_ACCEPT, 0)
ENTER(accept4, SYS_ACCEPT, 0)
ENTER(connect, SYS_CONNECT, 0)

/* sendmsg/recvmsg: the iovec array is behind the msghdr, read at entry (the pointer is all that
 * is kept; the data is read at exit). */
static __always_inline int enter_msg(struct trace_event_raw_sys_enter *ctx, __u8 op)
{
	struct user_msghdr *msg = (struct user_msghdr *)ctx->args[1];
	struct iovec *iov = NULL;

	if (!wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	if (bpf_probe_read_user(&iov, sizeof(iov), &msg->msg_iov))
		return 0;
	return enter((__s32)ctx->args[0], (__u64)iov, op, 1);
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int enter_sendmsg(struct trace_event_raw_sys_enter *ctx) { return enter_msg(ctx, SYS_WRITE); }

SEC("tracepoint/syscalls/sys_exit_sendmsg")
int exit_sendmsg(struct trace_event_raw_sys_exit *ctx) { return leave(ctx->ret); }

SEC("tracepoint/syscalls/sys_enter_recvmsg")
int enter_recvmsg(struct trace_event_raw_sys_enter *ctx) { return enter_msg(ctx, SYS_READ); }

SEC("tracepoint/syscalls/sys_exit_recvmsg")
int exit_recvmsg(struct trace_event_raw_sys_exit *ctx) { return leave(ctx->ret); }

/* At entry: once close() starts the fd may be reused by another thread before the exit runs. A
 * server connection closed mid-request un-stamps the thread that read it. */
SEC("tracepoint/syscalls/sys_enter_close")
int enter_close(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__s32 fd = (__s32)ctx->args[0];
	__u64 key;
	struct conn *c;

	if (!wanted(id >> 32))
		return 0;
	key = conn_key(id >> 32, fd);
	c = bpf_map_lookup_elem(&conns, &key);
	if (!c)
		return 0;
	if (c->tcp) {
		struct pending p = { .fd = fd };

		if (c->role == ROLE_SERVER && c->phase == PHASE_REQUEST)
			unstamp(c->tid);
		/* No payload: a zero byte count copies nothing. */
		emit(c, &p, id, EVENT_CLOSE, 0, 0);
	}
	bpf_map_delete_elem(&conns, &key);
	return 0;
}
