// `kiln doctor`: what this kernel lets Kiln do, and what Kiln does where it cannot.
import { detectCgroups } from './cgroups.js';
import { native } from './native.js';

export interface DoctorRow {
  facility: string;
  ok: boolean;
  detail: string;
  /** What Kiln does about it: "—" when it works, the fallback or the consequence when not. */
  instead: string;
}

export interface DoctorReport {
  rows: DoctorRow[];
  /** False when CPU profiling cannot work at all on this host. */
  cpuProfiling: boolean;
}

const fallbacks: Record<string, string> = {
  BTF: 'no CO-RE: the BPF programs cannot be relocated for this kernel; Kiln cannot run here',
  tracefs: 'tracepoint programs cannot attach; only perf-event sampling and tp_btf work',
  'perf events (cpu-clock)': 'no CPU sampling: CPU profiles are impossible on this host',
  'BPF ring buffer': 'spans and signal events fall back to a perf event array',
  'tracepoint sched:sched_switch': 'run-queue delay and throttling come from tp_btf, or from cgroup cpu.stat only',
  'tracepoint tcp:tcp_retransmit_skb': 'no TCP retransmit signals',
  'tracepoint syscalls:sys_enter_write': 'no zero-instrumentation spans (span capture stays off)',
  tp_btf: 'the classic tracepoints are used instead (slightly more overhead)',
  uprobes: 'no TLS (OpenSSL) span capture',
  fentry: 'tracepoints and tp_btf are used instead (fentry is only cheaper, never required)',
  'cgroup CPU controller': 'no cross-check of throttling against cpu.stat; throttling comes from sched_switch alone',
};

const essential = ['BTF', 'perf events (cpu-clock)'];

/**
 * Every facility (`kiln doctor`), or with `startup` only what CPU sampling needs, checked cheaply
 * (the agent's start: the sampler's own load reports anything else).
 */
export async function runDoctor(options: { startup?: boolean } = {}): Promise<DoctorReport> {
  const probed = await native().runDoctor(options);
  const cgroups = detectCgroups();
  const layout = cgroups.version === 2 ? 'v2 (unified)' : cgroups.hybrid ? 'v1 (hybrid: legacy hierarchies plus a unified one)' : 'v1 (legacy)';
  const rows: DoctorRow[] = probed.map((p) => ({ ...p, instead: p.ok ? '—' : (fallbacks[p.facility] ?? 'feature unavailable') }));
  rows.push({ facility: 'cgroup version', ok: true, detail: layout, instead: '—' });
  rows.push({
    facility: 'cgroup CPU controller',
    ok: cgroups.cpuControllerRoot !== undefined,
    detail: cgroups.cpuControllerRoot !== undefined ? `at ${cgroups.cpuControllerRoot}` : 'not mounted or not enabled',
    instead: cgroups.cpuControllerRoot !== undefined ? '—' : (fallbacks['cgroup CPU controller'] ?? ''),
  });
  const cpuProfiling = essential.every((name) => rows.find((r) => r.facility === name)?.ok === true);
  return { rows, cpuProfiling };
}

export function formatDoctorTable(report: DoctorReport): string {
  const header = ['facility', 'status', 'detail', 'kiln will'];
  // Long libbpf messages are cut here; `kiln doctor --json` has them whole.
  const cut = (text: string): string => (text.length > 60 ? `${text.slice(0, 59)}…` : text);
  const lines = report.rows.map((r) => [r.facility, r.ok ? 'ok' : 'NO', cut(r.detail), r.ok ? 'use it' : r.instead]);
  const widths = header.map((h, i) => Math.min(60, Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length))));
  const fmt = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  const verdict = report.cpuProfiling
    ? 'CPU profiling: available.'
    : 'CPU profiling: NOT possible on this host (needs BTF and cpu-clock perf events).';
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt), '', verdict, ''].join('\n');
}
