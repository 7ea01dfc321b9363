// `kiln doctor`: what this kernel offers the CPU sampler, span capture and the signal probes, and what Kiln does where it falls short.
import { detectCgroups } from './cgroups.js';
import { native } from './native.js';

export interface DoctorRow {
  facility: string;
  ok: boolean;
  detail: string;
  /** What Kiln does about it: "—" when Kiln uses it and it works. */
  instead: string;
}

export interface DoctorReport {
  rows: DoctorRow[];
  /** False when CPU profiling cannot work at all on this host. */
  cpuProfiling: boolean;
}

/** What Kiln does without each facility the CPU sampler uses. */
const without: Record<string, string> = {
  BTF: 'not run: the BPF programs cannot be relocated (CO-RE) for this kernel',
  tracefs: 'attach the exec/exit probes with tp_btf, which needs no tracefs (with neither, the agent cannot start)',
  'perf events (cpu-clock)': 'not run: CPU profiles need cpu-clock perf events',
  'BPF ring buffer': 'not run: the sampler reports new processes through one',
  tp_btf: 'attach the exec/exit probes to the classic tracepoints (through tracefs; slightly more overhead)',
  'span capture': 'not capture spans (CPU profiles carry no span); the row says what failed',
  'tracepoint syscalls:sys_enter_write': 'not capture spans: span capture attaches the syscall tracepoints',
  'tracepoint sched:sched_switch': 'not run the scheduler probe, which hooks sched_switch (tp_btf or raw tracepoint)',
  'tracepoint tcp:tcp_retransmit_skb': 'not run the retransmit probe, which hooks tcp_retransmit_skb (tp_btf or raw tracepoint)',
  'scheduler probe': 'not report throttling or run-queue delay, nor off-CPU time in spans; the row says what failed',
  'retransmit probe': 'not count TCP retransmits; the row says what failed',
};

/** Facilities probed for a feature that does not use them on any kernel yet. */
const notUsed: Record<string, string> = {
  fentry: 'not use it: span capture uses the syscall tracepoints (its row names them)',
};

/** The doctor also probes facilities no Kiln feature uses yet; their rows say so. */
const unused = 'not use it: no Kiln feature needs it yet';

const essential = ['BTF', 'perf events (cpu-clock)'];

/**
 * Every facility (`kiln doctor`), or with `startup` only what CPU sampling needs, checked cheaply
 * (the agent's start: the sampler's own load reports anything else).
 */
export async function runDoctor(options: { startup?: boolean } = {}): Promise<DoctorReport> {
  const probed = await native().runDoctor(options);
  const cgroups = detectCgroups();
  const layout =
    cgroups.version === 2 ? 'v2 (unified)' : cgroups.hybrid ? 'v1 (hybrid: legacy hierarchies plus a unified one)' : 'v1 (legacy)';
  const rows: DoctorRow[] = probed.map((p) => {
    const fallback = without[p.facility];
    return { ...p, instead: notUsed[p.facility] ?? (fallback === undefined ? unused : p.ok ? '—' : fallback) };
  });
  // Container ids come from each process's cgroup path, which the two layouts name differently.
  rows.push({ facility: 'cgroup version', ok: true, detail: layout, instead: '—' });
  const cpuProfiling = essential.every((name) => rows.find((r) => r.facility === name)?.ok === true);
  return { rows, cpuProfiling };
}

export function formatDoctorTable(report: DoctorReport): string {
  const header = ['facility', 'status', 'detail', 'kiln will'];
  // Long libbpf messages are cut here; `kiln doctor --json` has them whole.
  const cut = (text: string): string => (text.length > 60 ? `${text.slice(0, 59)}…` : text);
  const lines = report.rows.map((r) => [r.facility, r.ok ? 'ok' : 'NO', cut(r.detail), r.instead === '—' ? 'use it' : r.instead]);
  const widths = header.map((h, i) => Math.min(60, Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length))));
  const fmt = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  const verdict = report.cpuProfiling
    ? 'CPU profiling: available.'
    : 'CPU profiling: NOT possible on this host (needs BTF and cpu-clock perf events).';
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt), '', verdict, ''].join('\n');
}
