#ifndef KILN_DOCTOR_H
#define KILN_DOCTOR_H

/* Indices into the doctor's `hits` array: one counter per probed facility. */
enum doctor_hit {
	HIT_CPU_CLOCK = 0,
	HIT_STACK,
	HIT_SCHED_SWITCH,
	HIT_RETRANSMIT,
	HIT_SYS_ENTER_WRITE,
	HIT_TP_BTF,
	HIT_UPROBE,
	HIT_FENTRY,
	HIT_MAX,
};

struct doctor_event {
	__u32 pid;
	__u32 fd;
};

#endif
