// Kernel signals as the explore page and a span's details show them: the three timelines (what
// each is called, its unit, its buckets drawn on the CPU timeline's axis), the bucket a click
// lands in, and a span's latency split into its parts.
import type { SignalKind, SignalsResponse, SpanBreakdown } from './api';
import { formatCount } from './flamegraph/units';
import { formatDateTime, msParam, type TimeAxis } from './time';
import { formatDurationNs } from './traces';

export interface SignalTimelineSpec {
  kind: SignalKind;
  title: string;
  /** Shown instead of the timeline when the range holds none of it. */
  none: string;
  color: string;
}

/** The timelines above the flame graph, top to bottom. */
export const SIGNAL_TIMELINES: readonly SignalTimelineSpec[] = [
  { kind: 'throttle', title: 'Throttled time', none: 'no throttling in this range', color: '#c92a2a' },
  { kind: 'runqueue', title: 'Run-queue delay', none: 'no run-queue delay in this range', color: '#e67700' },
  { kind: 'retransmit', title: 'TCP retransmits', none: 'no retransmits in this range', color: '#1864ab' },
];

/** A signal value in its response unit: "12.5 ms", "1,234 segments". */
export function formatSignal(value: number, unit: SignalsResponse['unit']): string {
  return unit === 'nanoseconds' ? formatDurationNs(value) : `${formatCount(value)} segment${value === 1 ? '' : 's'}`;
}

/**
 * The buckets as a step line of [unix ms, value] points: each bucket is flat over its width, so
 * the drawing shows exactly which interval a value covers on the shared time axis.
 */
export function bucketPoints(r: Pick<SignalsResponse, 'fromMs' | 'stepMs' | 'values'>): [number, number][] {
  const points: [number, number][] = [];
  r.values.forEach((v, i) => {
    const start = r.fromMs + i * r.stepMs;
    points.push([start, v], [start + r.stepMs, v]);
  });
  return points;
}

export interface Bucket {
  index: number;
  fromMs: number;
  untilMs: number;
  value: number;
}

/** The bucket holding time `ms`, or null outside the series. */
export function bucketAt(r: Pick<SignalsResponse, 'fromMs' | 'stepMs' | 'values'>, ms: number): Bucket | null {
  if (!(r.stepMs > 0)) return null;
  const index = Math.floor((ms - r.fromMs) / r.stepMs);
  const value = r.values[index];
  if (value === undefined) return null;
  const fromMs = r.fromMs + index * r.stepMs;
  return { index, fromMs, untilMs: fromMs + r.stepMs, value };
}

/**
 * The signal query of an axis, cut into the CPU timeline's buckets: /api/v1/series starts its
 * points on a multiple of the step, so the range asked for is that grid's, and over it the
 * fewest whole seconds per point giving `maxPoints` points is exactly the CPU timeline's step.
 */
export function bucketGrid(axis: TimeAxis): { from: string; until: string; maxPoints: number } {
  const start = axis.fromMs - (axis.fromMs % axis.stepMs);
  const maxPoints = Math.max(1, Math.ceil((axis.untilMs - start) / axis.stepMs));
  return { from: msParam(start), until: msParam(start + maxPoints * axis.stepMs), maxPoints };
}

export type BreakdownPart = 'on-cpu' | 'run-queue' | 'throttled' | 'off-cpu';

export interface BreakdownSegment {
  part: BreakdownPart;
  label: string;
  ns: number;
  /** Of the parts' sum (the span's duration), 0 when that is 0. */
  share: number;
  color: string;
}

/** A span's latency as the segments of a stacked bar, in the order they are drawn. */
export function breakdownSegments(b: SpanBreakdown): BreakdownSegment[] {
  const parts: [BreakdownPart, string, number, string][] = [
    ['on-cpu', 'on CPU', b.onCpuNs, '#2f9e44'],
    ['run-queue', 'run queue', b.runQueueNs, '#e67700'],
    ['throttled', 'throttled', b.throttledNs, '#c92a2a'],
    ['off-cpu', 'other off-CPU', b.offCpuNs, '#868e96'],
  ];
  const sum = parts.reduce((s, [, , ns]) => s + ns, 0);
  return parts.map(([part, label, ns, color]) => ({ part, label, ns, share: sum > 0 ? ns / sum : 0, color }));
}

/** Local "HH:MM:SS.mmm": episodes within one bucket differ in milliseconds. */
export function formatClockMs(ms: number): string {
  return `${formatDateTime(ms).slice(11)}.${String(Math.floor(ms % 1000)).padStart(3, '0')}`;
}
