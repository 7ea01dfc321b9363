// SPDX-License-Identifier: GPL-2.0
// Small programs that `kiln doctor` loads one at a time to prove each kernel facility works.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "doctor.h"
#include "profile.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HIT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

/* Room for one user stack, taken as the sampler takes them (bpf_get_stack into per-CPU scratch). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stack);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

static __always_inline void hit(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&hits, &idx);
	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline bool is_target(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

SEC("perf_event")
int cpu_clock(struct bpf_perf_event_data *ctx)
{
	__u32 zero = 0;
	struct stack *s;

	if (!is_target())
		return 0;
	hit(HIT_CPU_CLOCK);
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (s && bpf_get_stack(ctx, s->ips, sizeof(s->ips), BPF_F_USER_STACK) > 0)
		hit(HIT_STACK);
	return 0;
}

SEC("tracepoint/sched/sched_switch")
int sched_switch(void *ctx)
{
	hit(HIT_SCHED_SWITCH);
	return 0;
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int tcp_retransmit(void *ctx)
{
	hit(HIT_RETRANSMIT);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_write")
int sys_enter_write(struct trace_event_raw_sys_enter *ctx)
{
	struct doctor_event *e;

	if (!is_target())
		return 0;
	hit(HIT_SYS_ENTER_WRITE);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->fd = (__u32)ctx->args[0];
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	if (BPF_CORE_READ(next, tgid) == target_tgid || prev->tgid == target_tgid)
		hit(HIT_TP_BTF);
	return 0;
}

SEC("uprobe")
int uprobe_target(struct pt_regs *ctx)
{
	hit(HIT_UPROBE);
	return 0;
}

SEC("fentry/tcp_sendmsg")
int BPF_PROG(fentry_tcp_sendmsg, struct sock *sk)
{
	hit(HIT_FENTRY);
	return 0;
}
