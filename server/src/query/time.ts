// Time parameters: `now`, `now-15m`, unix seconds, unix milliseconds (13 digits), RFC 3339.
import { badRequest } from '../http/http-error.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Milliseconds since the epoch; throws a 400 naming `param` on anything else. */
export function parseTime(raw: string, param: string, now = Date.now()): number {
  const s = raw.trim();
  const rel = /^now(?:\s*([-+])\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w))?$/.exec(s);
  if (rel !== null) {
    if (rel[1] === undefined) return now;
    const delta = Number(rel[2]) * UNIT_MS[rel[3]!]!;
    return rel[1] === '-' ? now - delta : now + delta;
  }
  if (/^\d+(\.\d+)?$/.test(s)) {
    const n = Number(s);
    const digits = s.split('.')[0]!.length;
    if (digits >= 19) return Math.floor(n / 1e6); // nanoseconds
    if (digits >= 16) return Math.floor(n / 1e3); // microseconds
    if (digits >= 13) return Math.floor(n); // milliseconds
    return Math.round(n * 1000); // seconds
  }
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.test(s)) {
    const t = Date.parse(s);
    if (Number.isFinite(t)) return t;
  }
  throw badRequest(
    `${param}=${JSON.stringify(raw.slice(0, 100))} is not a time: use now, now-1h, unix seconds, unix milliseconds or RFC 3339`,
  );
}

/** Durations for `step`: `10s`, `5m`, `1h`, or plain seconds. Returns seconds. */
export function parseStep(raw: string, param = 'step'): number {
  const s = raw.trim();
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)?$/.exec(s);
  if (m === null) throw badRequest(`${param}=${JSON.stringify(raw.slice(0, 100))} is not a duration: use e.g. 10s, 5m, 1h or seconds`);
  const seconds = (Number(m[1]) * UNIT_MS[m[2] ?? 's']!) / 1000;
  if (!(seconds >= 1)) throw badRequest(`${param} must be at least 1s`);
  return Math.round(seconds);
}

export interface TimeRange {
  fromMs: number;
  untilMs: number;
}

/** `from`/`until` with defaults (the last hour); `from` must be before `until`. */
export function parseRange(
  from: string | undefined,
  until: string | undefined,
  names = { from: 'from', until: 'until' },
  now = Date.now(),
): TimeRange {
  const untilMs = until === undefined || until === '' ? now : parseTime(until, names.until, now);
  const fromMs = from === undefined || from === '' ? untilMs - 3_600_000 : parseTime(from, names.from, now);
  if (!(fromMs < untilMs)) throw badRequest(`${names.from} must be before ${names.until}`);
  return { fromMs, untilMs };
}
