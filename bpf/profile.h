#ifndef KILN_PROFILE_H
#define KILN_PROFILE_H

#define PROFILE_MAX_DEPTH 127

/* Identical samples are counted in the kernel under this key: one map row per distinct key, so
 * every field multiplies the rows a drain moves and must earn its place. */
struct sample_key {
	/* The process: labels, mappings and symbols are per process. */
	__u32 tgid;
	/* The thread (the kernel's pid): kept for span attribution, which stamps a sample with the
	 * span its thread was serving. No cgroup id: the agent reads a process's cgroup from /proc. */
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
};

struct stack {
	__u64 ips[PROFILE_MAX_DEPTH];
};

struct process {
	__u32 generation;
};

enum process_event_kind {
	PROCESS_NEW = 1, /* first sample of a process the agent has not seen */
	PROCESS_EXEC = 2,
	PROCESS_EXIT = 3,
};

struct process_event {
	__u32 kind;
	__u32 tgid;
	__u32 generation;
	__u32 _pad;
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
