// SPDX-License-Identifier: GPL-2.0
// Scheduler probe (sched.h): run-queue and throttled waits per task. Two ways to measure them; the
// agent loads one (agent/native/src/sched_capture.cc):
// - from sched_switch alone (tp_btf, 6.18+ with CONFIG_SCHED_INFO): the kernel already stamps every
//   task it enqueues (sched_info.last_queued), so the common path needs no per-task map and no
//   wakeup hooks; per-task state is kept only for the rare waits the kernel does not stamp.
// - from sched_wakeup(_new) and sched_switch, each hook as a tp_btf program and a raw_tp one with
//   the same body, where the first cannot load.
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"
#include "sched.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u64 threshold_ns = SCHED_THRESHOLD_DEFAULT_NS;
/* Whether thread_spans is span capture's; if not, it stays empty and sched_switch alone skips it. */
const volatile bool spans_shared = false;

/* struct task_wait.flags */
#define WAITING 1   /* runnable since woken_at, not yet switched in */
#define THROTTLED 2 /* ... because its cgroup hierarchy was throttled */

/* Per thread: when it last left the CPU, and the wait in progress. An LRU hash rather than task
 * storage: the raw_tp fallback has no trusted task pointer, which bpf_task_storage_get needs, and
 * all programs share one map layout; the LRU drops the entries of threads that exited, so no exit
 * hook is needed. (Where sched_switch alone measures, task storage would not pay either: its
 * lookup miss measured ~30 ns dearer per switch than this map's, which that variant skips anyway
 * while the map is empty.) */
struct task_wait {
	__u64 off_since; /* switched out at; 0: not known (new thread, or its entry was evicted) */
	__u64 woken_at;  /* the wait began: woken, or switched out runnable */
	__u64 run_delay; /* sched_switch alone: sched_info.run_delay at switch-out */
	__u64 span_id;   /* sched_switch alone: the span the thread served at switch-out */
	__u32 flags;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct task_wait);
} task_waits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct cgroup_wait_key);
	__type(value, struct cgroup_wait);
} cgroup_waits SEC(".maps");

/* Span ids are random and a span that ends is taken (looked up and deleted) by the agent; one the
 * agent never asks for ages out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct span_times);
} span_times SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} episodes SEC(".maps");

/* Written by span capture (spans.bpf.c), whose map replaces this one by fd before load. */
THREAD_SPANS_MAP;

DEFINE_STATS(SCHED_STAT_MAX)

/* vmlinux.h carries no errno values. */
#define EEXIST 17

/* Whether the task's CFS hierarchy is throttled: 6.18+ throttles each task on its way back to user
 * space (task_struct.throttled); before, the whole cfs_rq was taken off the CPU, and throttle_count
 * is nonzero on a throttled cfs_rq and on every cfs_rq below it. */
static __always_inline bool task_throttled(struct task_struct *t, bool btf)
{
	if (bpf_core_field_exists(struct task_struct, throttled))
		return BTF_READ(btf, t, throttled);
	if (bpf_core_field_exists(struct sched_entity, cfs_rq)) {
		struct cfs_rq *cfs_rq = BTF_READ(btf, t, se.cfs_rq);

		return BTF_READ(btf, cfs_rq, throttle_count) > 0;
	}
	return false;
}

/* Before 6.18 a task woken into a throttled hierarchy waits until it is unthrottled; from 6.18 it
 * is enqueued and runs until it returns to user space, where it throttles itself (and the switch-out
 * says so). */
static __always_inline bool woken_throttled(struct task_struct *t, bool btf)
{
	if (bpf_core_field_exists(struct task_struct, throttled))
		return false;
	return task_throttled(t, btf);
}

static __always_inline __u32 log2_bucket(__u64 us)
{
	__u32 r = 0, shift;

	shift = (us > 0xFFFFFFFFULL) << 5; us >>= shift; r |= shift;
	shift = (us > 0xFFFF) << 4; us >>= shift; r |= shift;
	shift = (us > 0xFF) << 3; us >>= shift; r |= shift;
	shift = (us > 0xF) << 2; us >>= shift; r |= shift;
	shift = (us > 0x3) << 1; us >>= shift; r |= shift;
	r |= (us >> 1);
	return r < SCHED_HIST_BUCKETS ? r : SCHED_HIST_BUCKETS - 1;
}

static __always_inline void histogram(__u64 cgroup_id, __u32 kind, __u64 wait)
{
	struct cgroup_wait_key key = { .cgroup_id = cgroup_id, .kind = kind };
	struct cgroup_wait *w = bpf_map_lookup_elem(&cgroup_waits, &key);
	__u32 bucket;

	if (!w) {
		struct cgroup_wait zero = {};
		long err = bpf_map_update_elem(&cgroup_waits, &key, &zero, BPF_NOEXIST);

		if (err && err != -EEXIST) {
			stat_inc(SCHED_STAT_CGROUPS_FULL);
			return;
		}
		w = bpf_map_lookup_elem(&cgroup_waits, &key);
		if (!w)
			return;
	}
	__sync_fetch_and_add(&w->total_ns, wait);
	__sync_fetch_and_add(&w->count, 1);
	bucket = log2_bucket(wait / 1000);
	if (bucket < SCHED_HIST_BUCKETS)
		__sync_fetch_and_add(&w->buckets[bucket], 1);
}

static __always_inline void episode(struct task_struct *t, __u32 tid, __u64 cgroup_id, __u32 kind, __u64 start, __u64 wait,
				    __u64 span_id, bool btf)
{
	struct sched_episode *e = bpf_ringbuf_reserve(&episodes, sizeof(*e), 0);

	if (!e) {
		stat_inc(SCHED_STAT_EPISODES_LOST);
		return;
	}
	e->start_ns = start;
	e->duration_ns = wait;
	e->cgroup_id = cgroup_id;
	e->span_id = span_id;
	e->tgid = BTF_READ(btf, t, tgid);
	e->tid = tid;
	e->kind = kind;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	if (BPF_CORE_READ_STR_INTO(&e->comm, t, comm) < 0)
		e->comm[0] = 0;
	bpf_ringbuf_submit(e, 0);
	stat_inc(SCHED_STAT_EPISODES);
}

static __always_inline void add_span_times(__u64 span_id, __u32 kind, __u64 wait, __u64 blocked)
{
	struct span_times *s = bpf_map_lookup_elem(&span_times, &span_id);

	if (!s) {
		struct span_times zero = {};
		long err = bpf_map_update_elem(&span_times, &span_id, &zero, BPF_NOEXIST);

		if (err && err != -EEXIST) {
			stat_inc(SCHED_STAT_SPANS_FULL);
			return;
		}
		s = bpf_map_lookup_elem(&span_times, &span_id);
		if (!s)
			return;
	}
	/* Threads that serve the same span (thread-window attribution) can switch in on two CPUs. */
	if (kind == WAIT_THROTTLED)
		__sync_fetch_and_add(&s->throttled_ns, wait);
	else
		__sync_fetch_and_add(&s->runqueue_ns, wait);
	if (blocked)
		__sync_fetch_and_add(&s->blocked_ns, blocked);
	__sync_fetch_and_add(&s->switches, 1);
}

static __always_inline void on_wakeup(struct task_struct *p, bool btf)
{
	__u32 tid = BTF_READ(btf, p, pid);
	__u32 flags = WAITING | (woken_throttled(p, btf) ? THROTTLED : 0);
	__u64 now = bpf_ktime_get_ns();
	struct task_wait *w = bpf_map_lookup_elem(&task_waits, &tid);

	if (w) {
		w->woken_at = now;
		w->flags = flags;
	} else {
		struct task_wait fresh = { .woken_at = now, .flags = flags };

		bpf_map_update_elem(&task_waits, &tid, &fresh, BPF_ANY);
	}
}

/* A wait begins when `prev` leaves the CPU still runnable; a sleeping one starts its off-CPU gap. */
static __always_inline void switched_out(struct task_struct *prev, bool runnable, __u64 now, bool btf)
{
	__u32 tid = BTF_READ(btf, prev, pid);
	struct task_wait *w;
	__u32 flags = 0;

	if (tid == 0) /* the idle task */
		return;
	if (runnable)
		flags = WAITING | (task_throttled(prev, btf) ? THROTTLED : 0);
	w = bpf_map_lookup_elem(&task_waits, &tid);
	if (w) {
		w->off_since = now;
		w->woken_at = now;
		w->flags = flags;
	} else {
		struct task_wait fresh = { .off_since = now, .woken_at = now, .flags = flags };

		bpf_map_update_elem(&task_waits, &tid, &fresh, BPF_ANY);
	}
}

/* The wait of `next` (the task that waited, never current) ends. */
static __always_inline void switched_in(struct task_struct *next, __u64 now, bool btf)
{
	__u32 tid = BTF_READ(btf, next, pid);
	struct task_wait *w;
	struct thread_span *span;
	__u64 wait = 0, blocked = 0, start, cgroup_id, span_id = 0;
	__u32 kind, flags;

	if (tid == 0)
		return;
	w = bpf_map_lookup_elem(&task_waits, &tid);
	if (!w)
		return;
	flags = w->flags;
	start = w->woken_at;
	if (!(flags & WAITING) && !w->off_since)
		return; /* already counted: switched in again without leaving the CPU in between */
	if (flags & WAITING) {
		wait = now - start;
		if (w->off_since && start > w->off_since)
			blocked = start - w->off_since;
	} else {
		blocked = now - w->off_since; /* its wakeup was not seen (the probe attached meanwhile) */
	}
	w->off_since = 0;
	w->flags = 0;

	span = bpf_map_lookup_elem(&thread_spans, &tid);
	if (span)
		span_id = span->span_id;
	kind = flags & THROTTLED ? WAIT_THROTTLED : WAIT_RUNQUEUE;
	if (span_id)
		add_span_times(span_id, kind, wait, blocked);
	if (!(flags & WAITING))
		return;
	stat_inc(SCHED_STAT_WAITS);
	cgroup_id = cpu_cgroup_id(next, btf);
	histogram(cgroup_id, kind, wait);
	if (wait >= threshold_ns)
		episode(next, tid, cgroup_id, kind, start, wait, span_id, btf);
}

/* include/linux/sched.h */
#define TASK_RUNNING 0

static __always_inline void on_switch(bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int prev_state,
				      bool btf)
{
	__u64 now = bpf_ktime_get_ns();

	stat_inc(SCHED_STAT_SWITCHES);
	/* A task preempted after it set a sleeping state (before it called schedule()) is runnable. */
	switched_out(prev, preempt || prev_state == TASK_RUNNING, now, btf);
	switched_in(next, now, btf);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(wakeup_btf, struct task_struct *p) { on_wakeup(p, true); return 0; }

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(wakeup_new_btf, struct task_struct *p) { on_wakeup(p, true); return 0; }

SEC("tp_btf/sched_switch")
int BPF_PROG(switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int prev_state)
{
	on_switch(preempt, prev, next, prev_state, true);
	return 0;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(wakeup_raw, struct task_struct *p) { on_wakeup(p, false); return 0; }

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(wakeup_new_raw, struct task_struct *p) { on_wakeup(p, false); return 0; }

SEC("raw_tp/sched_switch")
int BPF_PROG(switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int prev_state)
{
	on_switch(preempt, prev, next, prev_state, false);
	return 0;
}

/* Measured from sched_switch alone. enqueue_task() stamps the task's sched_info.last_queued with
 * its rq's clock unless already stamped (a wakeup, an arrival by migration), as does the switch-out
 * of a task still TASK_RUNNING (sched_info_depart); sched_info_arrive, in context_switch() after
 * trace_sched_switch, clears it. So at the tracepoint `next` has waited rq->clock - last_queued.
 * What the stamp does not tell gets a task_waits entry, made at switch-out and deleted at the next
 * switch-in:
 * - a task throttled on its way back to user space (task_struct.throttled): the stamp does not say
 *   why it waited;
 * - a task preempted after it set a sleeping state: it stays queued, but unstamped;
 * - a thread serving a span, whose off-CPU time needs when it left.
 * A wait the load balancer moves to another CPU is cut at the move (the dequeue adds it so far to
 * sched_info.run_delay and clears the stamp): an entry keeps run_delay, so a span's wait is whole;
 * other waits count from the move, a rare loss that keeps per-task state off the common path. */

/* Entries in task_waits: while none, the common path skips the lookup. One the LRU evicts is never
 * subtracted, which only costs the lookups back. */
__u64 pending_waits;

static __always_inline void queued_departed(struct task_struct *prev, bool preempt, unsigned int prev_state)
{
	__u32 tid = prev->pid;
	bool throttled = task_throttled(prev, true);
	bool unstamped = preempt && prev_state != TASK_RUNNING;
	struct thread_span *span = spans_shared ? bpf_map_lookup_elem(&thread_spans, &tid) : NULL;
	struct task_wait *w;

	if (!span && !throttled && !unstamped)
		return;
	w = bpf_map_lookup_elem(&task_waits, &tid);
	if (!w) {
		struct task_wait fresh = {};

		if (bpf_map_update_elem(&task_waits, &tid, &fresh, BPF_NOEXIST))
			return;
		__sync_fetch_and_add(&pending_waits, 1);
		w = bpf_map_lookup_elem(&task_waits, &tid);
		if (!w)
			return;
	}
	w->off_since = bpf_ktime_get_ns();
	w->run_delay = prev->sched_info.run_delay;
	w->span_id = span ? span->span_id : 0;
	w->flags = throttled || unstamped ? WAITING | (throttled ? THROTTLED : 0) : 0;
}

static __always_inline void queued_wait(struct task_struct *t, __u32 tid, __u32 kind, __u64 wait, __u64 span_id)
{
	__u64 cgroup_id = cpu_cgroup_id(t, true);

	stat_inc(SCHED_STAT_WAITS);
	histogram(cgroup_id, kind, wait);
	if (wait >= threshold_ns)
		episode(t, tid, cgroup_id, kind, bpf_ktime_get_ns() - wait, wait, span_id, true);
}

static __always_inline void queued_arrived(struct task_struct *next, __u64 clock)
{
	__u32 tid = next->pid;
	__u64 queued = next->sched_info.last_queued;
	struct task_wait *w = NULL;
	__u64 off, wait, moved, span_id;
	__u32 kind, flags;

	if (pending_waits)
		w = bpf_map_lookup_elem(&task_waits, &tid);
	if (!w) {
		if (queued)
			queued_wait(next, tid, WAIT_RUNQUEUE, clock - queued, 0);
		return;
	}
	off = bpf_ktime_get_ns() - w->off_since;
	moved = next->sched_info.run_delay - w->run_delay;
	flags = w->flags;
	span_id = w->span_id;
	if (!bpf_map_delete_elem(&task_waits, &tid))
		__sync_fetch_and_sub(&pending_waits, 1);
	if (flags & WAITING)
		wait = off;
	else
		wait = moved + (queued ? clock - queued : 0);
	if (wait > off) /* rq clock and ktime part by a few ns */
		wait = off;
	kind = flags & THROTTLED ? WAIT_THROTTLED : WAIT_RUNQUEUE;
	if (span_id)
		add_span_times(span_id, kind, wait, off - wait);
	if ((flags & WAITING) || queued || moved)
		queued_wait(next, tid, kind, wait, span_id);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(switch_queued, bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int prev_state)
{
	stat_inc(SCHED_STAT_SWITCHES);
	if (prev->pid) /* 0: the idle task */
		queued_departed(prev, preempt, prev_state);
	/* This CPU's rq, whose clock __schedule() has just updated, through the cfs_rq that `next`
	 * belongs to on it (every task has one, whatever its class): the per-CPU `runqueues` is no
	 * ksym where kallsyms lists functions only. */
	if (next->pid)
		queued_arrived(next, next->se.cfs_rq->rq->clock);
	return 0;
}
