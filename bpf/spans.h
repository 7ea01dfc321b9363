#ifndef KILN_SPANS_H
#define KILN_SPANS_H

/* Span capture (spans.bpf.c): the data syscalls of TCP connections become socket events the agent
 * parses into requests and responses; the kernel only tracks which side of a request/response
 * exchange each connection is in, so that it can stamp the serving thread with its span. */

#define SPAN_PAYLOAD_DEFAULT 256
#define SPAN_PAYLOAD_MAX 1024
/* thread_spans' size: defined once because the sampler reuses the span capture's map by fd, which
 * libbpf accepts only when both objects declare it alike. */
#define SPAN_THREADS_MAX 16384

/* Which end of the connection this process is. */
enum conn_role {
	ROLE_UNKNOWN = 0,
	ROLE_SERVER = 1, /* accepted, or (already open when first seen) read before it wrote */
	ROLE_CLIENT = 2, /* connected, or (already open when first seen) wrote before it read */
};

/* Where a connection is in its exchange, as the kernel sees it (no protocol knowledge). */
enum conn_phase {
	PHASE_IDLE = 0,
	PHASE_REQUEST = 1,  /* the request is moving: server reading it, client writing it */
	PHASE_RESPONSE = 2, /* the response is moving: server writing it, client reading it */
};

enum socket_event_kind {
	EVENT_READ = 1,  /* data read from the socket (read, readv, recvfrom, recvmsg) */
	EVENT_WRITE = 2, /* data written to it (write, writev, sendto, sendmsg) */
	EVENT_CLOSE = 3, /* close() of a followed connection */
};

/* Flags of a socket event. */
#define EVENT_REQUEST_START 1 /* this read (server) or write (client) began a new request */
#define EVENT_TRUNCATED 2     /* `bytes` exceeds the captured payload */

/* One followed connection, by (tgid << 32 | fd). */
struct conn {
	__u64 id;       /* random, nonzero: tells a reused fd's new connection from the old */
	__u64 span_id;  /* the span of the request in flight (server: set when its first bytes are read) */
	__u32 tid;      /* the thread that read the request (server), whose stamp the response clears */
	__u8 role;      /* enum conn_role */
	__u8 phase;     /* enum conn_phase */
	__u8 tcp;       /* 0: not a TCP socket (a cached negative answer), 1: followed */
	__u8 family;    /* AF_INET or AF_INET6 */
	/* The endpoints, read from the sock once when the connection is first followed (a connected
	 * TCP socket's never change) instead of once per event. */
	__u16 local_port;  /* host order */
	__u16 remote_port; /* host order */
	__u32 pad;
	__u8 local_addr[16];  /* IPv4 in the first 4 bytes */
	__u8 remote_addr[16];
};

/* The span a thread is serving, read by the CPU sampler (profile.bpf.c) for every sample: shared
 * between the two programs by map fd. `open` counts the requests the thread has read and not yet
 * answered: more than one on an event loop that interleaves them, where `span_id` is the latest. */
struct thread_span {
	__u64 span_id;
	__u32 open;
	__u32 pad;
};

/* One ring buffer record: this header, then `captured` payload bytes. */
struct socket_event {
	__u64 ts_ns;     /* bpf_ktime_get_ns() at syscall exit (CLOCK_MONOTONIC) */
	__u64 conn_id;   /* struct conn.id */
	__u64 span_id;   /* READ on a server: the span of the request being read (new at REQUEST_START);
			  * WRITE on a server: the span answered (0 before any request: a server greeting);
			  * WRITE or READ on a client: the span its thread was serving when the request began
			  * (the parent), 0 if none; CLOSE: the connection's last span */
	__u32 tgid;
	__u32 tid;
	__s32 fd;
	__u32 bytes;     /* the syscall's return value: bytes moved */
	__u16 captured;  /* payload bytes that follow */
	__u8 kind;       /* enum socket_event_kind */
	__u8 role;       /* enum conn_role */
	__u8 flags;      /* EVENT_* */
	__u8 family;     /* AF_INET (2) or AF_INET6 (10) */
	__u16 local_port;  /* host order */
	__u16 remote_port; /* host order */
	__u16 pad;
	__u8 local_addr[16];  /* IPv4 in the first 4 bytes */
	__u8 remote_addr[16];
};

enum span_stat {
	SPAN_STAT_EVENTS = 0,     /* socket events emitted */
	SPAN_STAT_EVENTS_LOST,    /* ring buffer full */
	SPAN_STAT_CONNS_FULL,     /* a connection could not be followed: conns map full */
	SPAN_STAT_THREADS_FULL,   /* a thread could not be stamped: thread_spans map full */
	SPAN_STAT_PAYLOAD_ERR,    /* the payload could not be read from user memory */
	SPAN_STAT_MAX,
};

#endif
