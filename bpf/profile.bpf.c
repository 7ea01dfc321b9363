// SPDX-License-Identifier: GPL-2.0
// CPU sampler: one cpu-clock perf event per CPU runs on_cpu_sample; identical
// samples are counted in the kernel in one of two map generations, selected by
// `active`, so the agent drains one while the other fills.
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"
#include "profile.h"
#include "spans.h"

/* vmlinux.h carries no errno values. */
#define EFAULT 14
#define EEXIST 17

char LICENSE[] SEC("license") = "GPL";

const volatile bool filter_pids = false;
const volatile bool include_idle = false;

/* Written by the agent through the mmapped .bss; 0 or 1. */
__u32 active = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} pids SEC(".maps");

#define COUNTS_MAP(name)                              \
	struct {                                      \
		__uint(type, BPF_MAP_TYPE_HASH);      \
		__uint(max_entries, 16384);           \
		__type(key, struct sample_key);       \
		__type(value, __u64);                 \
	} name SEC(".maps")

#define STACKS_MAP(name)                              \
	struct {                                      \
		__uint(type, BPF_MAP_TYPE_HASH);      \
		__uint(max_entries, 8192);            \
		__type(key, __u64);                   \
		__type(value, struct stack);          \
	} name SEC(".maps")

COUNTS_MAP(counts0);
COUNTS_MAP(counts1);
STACKS_MAP(stacks0);
STACKS_MAP(stacks1);

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct process);
} processes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Written by span capture (spans.bpf.c), whose map replaces this one by fd before load; without
 * span capture it stays empty and costs a sample one lookup. */
THREAD_SPANS_MAP;

DEFINE_STATS(STAT_MAX)

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stack);
} scratch SEC(".maps");

static __always_inline bool wanted(__u32 tgid)
{
	if (tgid == 0 && !include_idle)
		return false;
	return !filter_pids || bpf_map_lookup_elem(&pids, &tgid);
}

/* include/linux/sched.h */
#define PF_EXITING 0x00000004
#define PF_KTHREAD 0x00200000

/* A task that is exiting can still be sampled after sched_process_exit marked its process
 * exited: those samples must not make the process new again (a capture no exit would clear). */
static __always_inline bool exiting(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	return BPF_CORE_READ(task, flags) & PF_EXITING;
}

static __always_inline void emit(__u32 kind, __u32 tgid, __u32 generation)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct process_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		stat_inc(STAT_EVENTS_LOST);
		return;
	}
	e->kind = kind;
	e->tgid = tgid;
	e->generation = generation;
	e->flags = BPF_CORE_READ(task, flags) & PF_KTHREAD ? PROCESS_KERNEL_THREAD : 0;
	/* The leader's: a thread's own comm names the thread (a pool worker), not the program. */
	if (BPF_CORE_READ_STR_INTO(&e->comm, task, group_leader, comm) < 0)
		e->comm[0] = 0;
	bpf_ringbuf_submit(e, 0);
}

/* FNV-1a over the frames; the depth is mixed in so a prefix never equals its stack. */
static __always_inline __u64 hash_stack(const struct stack *s, __u32 depth)
{
	__u64 h = 0xcbf29ce484222325ULL ^ depth;
	for (__u32 i = 0; i < PROFILE_MAX_DEPTH; i++) {
		if (i >= depth)
			break;
		h ^= s->ips[i];
		h *= 0x100000001b3ULL;
	}
	return h ? h : 1;
}

/* Captures one stack into `stacks`, returns its hash, or 0 and *err = -errno. */
static __always_inline __u64 capture(void *ctx, void *stacks, __u64 flags, __s32 *err, __u32 err_stat)
{
	__u32 zero = 0;
	struct stack *s = bpf_map_lookup_elem(&scratch, &zero);
	long n;
	__u64 h;

	if (!s)
		return 0;
	n = bpf_get_stack(ctx, s->ips, sizeof(s->ips), flags);
	if (n <= 0) {
		if (n < 0 && n != -EFAULT) /* -EFAULT: no stack of this kind (kernel thread / user mode) */
			stat_inc(err_stat);
		*err = n;
		return 0;
	}
	h = hash_stack(s, n / sizeof(__u64));
	/* -E2BIG: full; -ENOMEM: an element could not be allocated (maps that fill on demand) */
	n = bpf_map_update_elem(stacks, &h, s, BPF_NOEXIST);
	if (n && n != -EEXIST) {
		stat_inc(STAT_STACKS_FULL);
		*err = n;
		return 0;
	}
	return h;
}

static __always_inline void count(void *counts, struct sample_key *key)
{
	__u64 one = 1, *c = bpf_map_lookup_elem(counts, key);
	long err;

	if (c) {
		__sync_fetch_and_add(c, 1);
		return;
	}
	err = bpf_map_update_elem(counts, key, &one, BPF_NOEXIST);
	if (err == -EEXIST) { /* another CPU inserted it first */
		c = bpf_map_lookup_elem(counts, key);
		if (c)
			__sync_fetch_and_add(c, 1);
	} else if (err) {
		stat_inc(STAT_COUNTS_FULL);
	}
}

SEC("perf_event")
int on_cpu_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sample_key key = {};
	struct process *proc;
	struct thread_span *span;
	__s32 kernel_err = 0;

	key.tgid = id >> 32;
	key.tid = (__u32)id;
	if (!wanted(key.tgid))
		return 0;
	stat_inc(STAT_SAMPLES);
	span = bpf_map_lookup_elem(&thread_spans, &key.tid);
	if (span)
		key.span_id = span->span_id;

	proc = bpf_map_lookup_elem(&processes, &key.tgid);
	if (proc && !(proc->exited && !exiting())) {
		key.generation = proc->generation;
	} else {
		/* Unknown, or a new process with the pid of one that exited. One first sampled while it
		 * exits is new and gone at once: its name is all there is left to take. */
		struct process fresh = { .exited = exiting() };

		bpf_map_update_elem(&processes, &key.tgid, &fresh, BPF_ANY);
		emit(PROCESS_NEW, key.tgid, 0);
		if (fresh.exited)
			emit(PROCESS_EXIT, key.tgid, 0);
	}

	if (active == 0) {
		key.user_stack = capture(ctx, &stacks0, BPF_F_USER_STACK, &key.user_stack_error, STAT_USER_STACK_ERR);
		key.kernel_stack = capture(ctx, &stacks0, 0, &kernel_err, STAT_KERNEL_STACK_ERR);
		count(&counts0, &key);
	} else {
		key.user_stack = capture(ctx, &stacks1, BPF_F_USER_STACK, &key.user_stack_error, STAT_USER_STACK_ERR);
		key.kernel_stack = capture(ctx, &stacks1, 0, &kernel_err, STAT_KERNEL_STACK_ERR);
		count(&counts1, &key);
	}
	return 0;
}

static __always_inline void on_exec(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct process *proc;

	if (!wanted(tgid))
		return;
	/* Only a process already sampled has mappings to capture again; one that was not is
	 * captured at its first sample, so a host that execs thousands of short commands a
	 * second does not make the agent read /proc for each. */
	proc = bpf_map_lookup_elem(&processes, &tgid);
	if (proc && !proc->exited) {
		proc->generation++;
		emit(PROCESS_EXEC, tgid, proc->generation);
	}
}

static __always_inline void on_exit(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct process *proc;

	if ((__u32)id != tgid) /* a thread, not the process */
		return;
	proc = bpf_map_lookup_elem(&processes, &tgid);
	if (!proc || proc->exited)
		return; /* never sampled, or already told: nothing to forget */
	emit(PROCESS_EXIT, tgid, proc->generation);
	proc->exited = 1;
}

/* tp_btf needs no tracefs and is cheaper; the classic tracepoints are the fallback. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec_btf) { on_exec(); return 0; }

SEC("tp_btf/sched_process_exit")
int BPF_PROG(exit_btf) { on_exit(); return 0; }

SEC("tracepoint/sched/sched_process_exec")
int exec_tp(void *ctx) { on_exec(); return 0; }

SEC("tracepoint/sched/sched_process_exit")
int exit_tp(void *ctx) { on_exit(); return 0; }
