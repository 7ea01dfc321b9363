#ifndef KILN_SCHED_H
#define KILN_SCHED_H

/* Scheduler probe (sched.bpf.c): how long runnable tasks waited for a CPU, and whether they waited
 * because their cgroup's CPU quota was used up (throttled) or because the CPUs were busy (run-queue
 * delay). A wait starts when a task is woken or switched out while still runnable (preempted, or
 * throttled), and ends when sched_switch switches it in: the task that waited is `next`, never
 * `current`. Where the kernel stamps queued tasks (sched_info.last_queued), sched_switch alone
 * measures it; elsewhere sched_wakeup and sched_wakeup_new mark its start. Waits at least `threshold_ns` long are episodes (ring buffer);
 * every wait goes into its cgroup's log2 histogram. */

#define SCHED_THRESHOLD_DEFAULT_NS 5000000ULL
/* Histogram bucket i counts waits of [2^i, 2^(i+1)) microseconds (bucket 0 also those under 1 µs). */
#define SCHED_HIST_BUCKETS 32

enum wait_kind {
	WAIT_RUNQUEUE = 0,  /* runnable, not running: the CPUs were busy */
	WAIT_THROTTLED = 1, /* not running because its cgroup (or an ancestor) was throttled */
};

/* The cgroup of a wait: the task's CPU controller cgroup (task->sched_task_group's css cgroup),
 * whose quota throttles it; on cgroup v1 that is the `cpu` hierarchy, on v2 the unified one. Its id
 * is the cgroup directory's inode number (kernfs node id). */
struct cgroup_wait_key {
	__u64 cgroup_id;
	__u32 kind; /* enum wait_kind */
	__u32 pad;
};

/* Every wait of one cgroup and kind since the agent last drained the map. */
struct cgroup_wait {
	__u64 total_ns;
	__u64 count;
	__u64 buckets[SCHED_HIST_BUCKETS];
};

/* One wait of at least threshold_ns (ring buffer record, fixed size). */
struct sched_episode {
	__u64 start_ns;    /* bpf_ktime_get_ns() when the wait began (CLOCK_MONOTONIC) */
	__u64 duration_ns;
	__u64 cgroup_id;   /* as in cgroup_wait_key, of the task that waited */
	__u64 span_id;     /* the span its thread was serving (spans.h thread_spans), 0 if none */
	__u32 tgid;
	__u32 tid;
	__u8 kind;         /* enum wait_kind */
	__u8 pad[7];
	char comm[16];
};

/* Per span (key: span id), the off-CPU time of the thread serving it, summed at every switch-in
 * while the thread carries the span's stamp. On-CPU time is the span's duration minus the three:
 * the stamp is set and cleared by syscalls, which run on the CPU, so every off-CPU gap lies wholly
 * inside a span or wholly outside it. */
struct span_times {
	__u64 runqueue_ns;  /* runnable, waiting for a CPU */
	__u64 throttled_ns; /* runnable, its cgroup throttled */
	__u64 blocked_ns;   /* sleeping: I/O, locks, timers (other off-CPU) */
	__u64 switches;     /* switch-ins counted */
};

enum sched_stat {
	SCHED_STAT_SWITCHES = 0,    /* sched_switch calls */
	SCHED_STAT_WAITS,           /* waits measured */
	SCHED_STAT_EPISODES,        /* episodes emitted */
	SCHED_STAT_EPISODES_LOST,   /* ring buffer full */
	SCHED_STAT_CGROUPS_FULL,    /* a wait not histogrammed: cgroup map full */
	SCHED_STAT_SPANS_FULL,      /* a span's times not kept: span map full */
	SCHED_STAT_MAX,
};

#endif
