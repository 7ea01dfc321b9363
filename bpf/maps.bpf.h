/* SPDX-License-Identifier: GPL-2.0 */
/* Maps that more than one program declares alike, each with its helpers. */
#ifndef KILN_MAPS_BPF_H
#define KILN_MAPS_BPF_H

#include "spans.h"

/* The program's counters (`count` of them, indexed by its stat enum) and stat_inc(). Per-CPU, so
 * no two CPUs contend and no atomics are needed; the agent sums them (agent/native/src/percpu_stats.h). */
#define DEFINE_STATS(count)                                     \
	struct {                                                \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);        \
		__uint(max_entries, count);                     \
		__type(key, __u32);                             \
		__type(value, __u64);                           \
	} stats SEC(".maps");                                   \
                                                                \
	static __always_inline void stat_inc(__u32 idx)         \
	{                                                       \
		__u64 *v = bpf_map_lookup_elem(&stats, &idx);   \
		if (v)                                          \
			(*v)++;                                 \
	}

/* tid -> the span its thread serves (spans.h). Owned by span capture; the CPU sampler declares
 * it too and the agent hands it span capture's map by fd before load, which libbpf accepts only
 * for a map of the same type, sizes and flags: hence one declaration for both. */
#define THREAD_SPANS_MAP                                        \
	struct {                                                \
		__uint(type, BPF_MAP_TYPE_HASH);                \
		__uint(max_entries, SPAN_THREADS_MAX);          \
		__type(key, __u32);                             \
		__type(value, struct thread_span);              \
	} thread_spans SEC(".maps")

/* A field of a kernel object (a task, a socket, or what they point to). tp_btf programs get BTF
 * pointers, which they read with plain loads; raw_tp ones get bare addresses and must call
 * bpf_probe_read_kernel, which on sched_switch cost as much as the rest of the program. `btf` is a constant in each program, so the
 * compiler keeps one branch. Both are CO-RE relocated. */
#define BTF_READ(btf, p, field) ((btf) ? (p)->field : BPF_CORE_READ(p, field))

/* The task's CPU controller cgroup (sched.h), whose quota throttles it: the cgroup of a wait
 * (sched.bpf.c) and of a socket's owner (retransmits.bpf.c). An autogroup's task group has no
 * cgroup: its parent, the root task group, does. */
static __always_inline __u64 cpu_cgroup_id(struct task_struct *t, bool btf)
{
	struct task_group *tg = BTF_READ(btf, t, sched_task_group);
	struct cgroup *cg = BTF_READ(btf, tg, css.cgroup);
	struct kernfs_node *kn;

	if (!cg) {
		tg = BTF_READ(btf, tg, parent);
		cg = BTF_READ(btf, tg, css.cgroup);
	}
	kn = BTF_READ(btf, cg, kn);
	return BTF_READ(btf, kn, id);
}

#endif
