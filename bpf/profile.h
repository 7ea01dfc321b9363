#ifndef KILN_PROFILE_H
#define KILN_PROFILE_H

#define PROFILE_MAX_DEPTH 127
/* The kernel's TASK_COMM_LEN, which vmlinux.h defines as an enum the agent's C++ cannot see. */
#define PROFILE_COMM_LEN 16

/* Identical samples are counted in the kernel under this key: one map row per distinct key, so
 * every field multiplies the rows a drain moves and must earn its place. */
struct sample_key {
	/* The process: labels, mappings and symbols are per process. */
	__u32 tgid;
	/* The thread (the kernel's pid): span attribution reads which thread served a request. No
	 * cgroup id: the agent reads a process's cgroup from /proc. */
	__u32 tid;
	/* The stacks, by a 64-bit hash of their frames (0 = no stack of that kind); frames are stored
	 * once per interval in the stack maps, not once per row. */
	__u64 user_stack;
	__u64 kernel_stack;
	/* Bumped on exec, so samples from before and after an exec symbolize against the right maps. */
	__u32 generation;
	/* Why the user stack is missing, when it is: -errno from bpf_get_stack, 0 otherwise. The
	 * profile shows a stack that could not be taken instead of dropping its samples. */
	__s32 user_stack_error;
	/* The span the thread was serving (thread_spans, set by span capture in spans.bpf.c), 0 when
	 * none: a sample of a request's work opens under that request's span. Rows only multiply
	 * while requests are in flight. */
	__u64 span_id;
};

struct stack {
	__u64 ips[PROFILE_MAX_DEPTH];
};

struct process {
	__u32 generation;
	/* Set at sched_process_exit instead of deleting the entry: the samples a task takes while it
	 * finishes exiting find it and emit nothing, and a new process that reuses the pid finds it
	 * marked and is new. A dead entry stays until its pid is reused or the LRU evicts it, which
	 * it does first to entries no sample looks up any more. */
	__u32 exited;
};

enum process_event_kind {
	PROCESS_NEW = 1, /* first sample of a process the agent has not seen (or of a new one with its pid) */
	PROCESS_EXEC = 2,
	PROCESS_EXIT = 3,
};

/* Flags of a process event. */
#define PROCESS_KERNEL_THREAD 1 /* PF_KTHREAD: the agent makes all kernel threads one service */

struct process_event {
	__u32 kind;
	__u32 tgid;
	__u32 generation;
	__u32 flags;
	/* The process's name (its group leader's comm; on exec the new one), taken from the task
	 * when the event is made: a process that exits before the agent reads /proc keeps its name. */
	char comm[PROFILE_COMM_LEN];
};

enum profile_stat {
	STAT_SAMPLES = 0,   /* samples taken (after the pid filter) */
	STAT_COUNTS_FULL,   /* samples lost: counts map full, or no kernel memory for a new entry */
	STAT_STACKS_FULL,   /* stacks lost: stacks map full or no memory for it (sample kept without that stack) */
	STAT_USER_STACK_ERR,
	STAT_KERNEL_STACK_ERR,
	STAT_EVENTS_LOST,   /* process events lost: ring buffer full */
	STAT_MAX,
};

#endif
