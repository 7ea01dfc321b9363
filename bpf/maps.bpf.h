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

#endif
