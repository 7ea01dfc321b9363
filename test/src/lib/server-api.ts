// Talking to a real Kiln server in tests: ingest, JSON queries, and reading flamebearers back
// into per-function totals that can be compared with pprof's.
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Function as PprofFunction, Label, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import type { DiffResponse, FlamegraphResponse } from '@kiln/api/http';
import { repoRoot } from './kiln.js';

export const fixtures = join(repoRoot, 'test/fixtures/server');

export interface IngestParams {
  name: string;
  /** pprof or folded; anything else tests the server's answer to it. */
  format?: string;
  from?: number | string;
  until?: number | string;
  sampleRate?: number;
  spyName?: string;
}

export function ingestUrl(base: string, p: IngestParams): string {
  const u = new URL('/ingest', base);
  u.searchParams.set('name', p.name);
  if (p.format !== undefined) u.searchParams.set('format', p.format);
  if (p.from !== undefined) u.searchParams.set('from', String(p.from));
  if (p.until !== undefined) u.searchParams.set('until', String(p.until));
  if (p.sampleRate !== undefined) u.searchParams.set('sampleRate', String(p.sampleRate));
  if (p.spyName !== undefined) u.searchParams.set('spyName', p.spyName);
  return u.toString();
}

export interface Answer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export async function ingest(
  base: string,
  p: IngestParams,
  body: Uint8Array | string,
  headers: Record<string, string> = {},
): Promise<Answer<{ id?: string; samples?: number; error?: string }>> {
  const res = await fetch(ingestUrl(base, p), {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/octet-stream', ...headers },
  });
  const text = await res.text();
  let json: { id?: string; samples?: number; error?: string };
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    json = { error: `not JSON: ${text.slice(0, 200)}` };
  }
  return { status: res.status, headers: res.headers, body: json };
}

export async function getJson<T>(base: string, path: string, params: Record<string, string | number | undefined> = {}): Promise<Answer<T>> {
  const u = new URL(path, base);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, String(v));
  const res = await fetch(u);
  const text = await res.text();
  let body: T;
  try {
    body = JSON.parse(text) as T;
  } catch {
    throw new Error(`${u.href} answered ${res.status} with non-JSON: ${text.slice(0, 300)}`);
  }
  return { status: res.status, headers: res.headers, body };
}

export async function getBytes(
  base: string,
  path: string,
  params: Record<string, string | number | undefined> = {},
): Promise<{ status: number; bytes: Buffer; headers: Headers }> {
  const u = new URL(path, base);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, String(v));
  const res = await fetch(u);
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

/** A flame graph or diff answer, typed by the contract; `flameNodes` below decodes it independently of the UI's decoder. */
export type FlamebearerJson = FlamegraphResponse | DiffResponse;

export interface FlameNode {
  name: string;
  depth: number;
  /** Left (or only) side. */
  x: number;
  total: number;
  self: number;
  /** Right side of a diff. */
  rx: number;
  rTotal: number;
  rSelf: number;
  /** Names from the root's child down to this node. */
  path: string[];
}

/** Decodes flamebearer levels (quadruples or septuples) into nodes with their full paths. */
export function flameNodes(fb: FlamebearerJson): FlameNode[] {
  const diff = fb.metadata.format === 'double';
  const step = diff ? 7 : 4;
  const out: FlameNode[] = [];
  let prevLevel: FlameNode[] = [];
  fb.flamebearer.levels.forEach((level, depth) => {
    const cur: FlameNode[] = [];
    let x = 0;
    let rx = 0;
    for (let i = 0; i < level.length; i += step) {
      x += level[i]!;
      const total = level[i + 1]!;
      const self = level[i + 2]!;
      let rTotal = 0;
      let rSelf = 0;
      if (diff) {
        rx += level[i + 3]!;
        rTotal = level[i + 4]!;
        rSelf = level[i + 5]!;
      }
      const name = fb.flamebearer.names[level[i + step - 1]!]!;
      // The parent is the node of the level above whose range holds this one.
      const parent = prevLevel.find((p) =>
        total > 0 ? x >= p.x && x + total <= p.x + p.total : rx >= p.rx && rx + rTotal <= p.rx + p.rTotal,
      );
      const path = depth === 0 ? [] : [...(parent?.path ?? []), name];
      const node = { name, depth, x, total, self, rx, rTotal, rSelf, path };
      cur.push(node);
      out.push(node);
      x += total;
      rx += rTotal;
    }
    prevLevel = cur;
  });
  return out;
}

/** flat (self) and cum (total, once per path) per function name, as pprof's -top counts them. */
export function flameFunctionTotals(fb: FlamebearerJson, side: 'left' | 'right' = 'left'): Map<string, { flat: number; cum: number }> {
  const out = new Map<string, { flat: number; cum: number }>();
  for (const n of flameNodes(fb)) {
    if (n.depth === 0) continue;
    const self = side === 'left' ? n.self : n.rSelf;
    const total = side === 'left' ? n.total : n.rTotal;
    const e = out.get(n.name) ?? { flat: 0, cum: 0 };
    e.flat += self;
    // Recursion: count a subtree once, at its outermost frame of that name.
    if (!n.path.slice(0, -1).includes(n.name)) e.cum += total;
    out.set(n.name, e);
  }
  return out;
}

/** Total of the nodes at one full path (names below the root). */
export function pathTotal(fb: FlamebearerJson, path: string[], side: 'left' | 'right' = 'left'): number {
  const key = path.join(';');
  return flameNodes(fb)
    .filter((n) => n.path.join(';') === key)
    .reduce((s, n) => s + (side === 'left' ? n.total : n.rTotal), 0);
}

// ---- building pprof profiles ---------------------------------------------

export interface SyntheticSample {
  /** Function names, root first. */
  stack: string[];
  values: number[];
  labels?: Record<string, string>;
}

/** Functions of a synthetic pprof by name, one location each: `loc(name)` is the location id. */
export function functionTable(
  st: StringTable,
  opts: { filename: string; line?: number; address?: (id: number) => number },
): { loc: (name: string) => number; functions: PprofFunction[]; locations: Location[] } {
  const fns = new Map<string, number>();
  const functions: PprofFunction[] = [];
  const locations: Location[] = [];
  const loc = (name: string): number => {
    let id = fns.get(name);
    if (id === undefined) {
      id = fns.size + 1;
      fns.set(name, id);
      functions.push(new PprofFunction({ id, name: st.dedup(name), systemName: st.dedup(name), filename: st.dedup(opts.filename) }));
      const line = [new Line({ functionId: id, ...(opts.line === undefined ? {} : { line: opts.line }) })];
      locations.push(new Location({ id, line, ...(opts.address === undefined ? {} : { address: opts.address(id) }) }));
    }
    return id;
  };
  return { loc, functions, locations };
}

/** A pprof profile with the given sample types and samples (one location per function). */
export function makePprof(
  types: [string, string][],
  samples: SyntheticSample[],
  opts: { timeMs?: number; durationMs?: number } = {},
): Profile {
  const st = new StringTable();
  const { loc, functions, locations } = functionTable(st, { filename: 'synthetic.c', line: 1 });
  const sample = samples.map(
    (s) =>
      new Sample({
        locationId: [...s.stack].reverse().map(loc),
        value: s.values,
        label: Object.entries(s.labels ?? {}).map(([k, v]) => new Label({ key: st.dedup(k), str: st.dedup(v) })),
      }),
  );
  return new Profile({
    sampleType: types.map(([t, u]) => new ValueType({ type: st.dedup(t), unit: st.dedup(u) })),
    periodType: new ValueType({ type: st.dedup(types[0]![0]), unit: st.dedup(types[0]![1]) }),
    period: 1,
    timeNanos: BigInt(Math.round(opts.timeMs ?? Date.now())) * 1_000_000n,
    durationNanos: BigInt(Math.round(opts.durationMs ?? 10_000)) * 1_000_000n,
    sample,
    location: locations,
    function: functions,
    stringTable: st,
  });
}

export function gzipPprof(p: Profile): Buffer {
  return gzipSync(p.encode());
}

/** Waits until `check` returns a value (not undefined) or `timeoutMs` passes. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `${what}: not within ${timeoutMs} ms${last ? ` (last error: ${last instanceof Error ? last.message : JSON.stringify(last)})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}
