// Simulated agents for the server benchmarks: a Zipf-distributed corpus of realistic stacks
// (depth 20–60, shared prefixes) and 10 s agent-style pprof uploads (cpu + samples, labels per process).
import { gzipSync } from 'node:zlib';
import { Label, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import { functionTable } from '../lib/server-api.js';

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Corpus {
  /** Function names of each stack, root first. */
  stacks: string[][];
  /** Cumulative Zipf weights for sampling. */
  cdf: Float64Array;
}

/** `size` stacks of depth 20–60 growing from a few hundred shared roots and prefixes, Zipf(s) weights. */
export function makeCorpus(size: number, seed = 1, s = 1.1): Corpus {
  const r = rng(seed);
  const fn = (i: number) => `pkg${i % 97}.Type${i % 31}.method_${i}`;
  const stacks: string[][] = [];
  for (let i = 0; i < size; i++) {
    const depth = 20 + Math.floor(r() * 41);
    // Half of each stack is a prefix shared with an earlier stack: realistic fan-out.
    const base = i > 0 && r() < 0.8 ? stacks[Math.floor(r() * i)]! : [];
    const keep = Math.min(base.length, Math.floor(depth * (0.3 + r() * 0.5)));
    const stack = base.slice(0, keep);
    while (stack.length < depth) stack.push(fn(Math.floor(r() * 5000)));
    stacks.push(stack);
  }
  const cdf = new Float64Array(size);
  let acc = 0;
  for (let i = 0; i < size; i++) cdf[i] = acc += 1 / Math.pow(i + 1, s);
  for (let i = 0; i < size; i++) cdf[i]! /= acc;
  return { stacks, cdf };
}

export function pick(c: Corpus, r: () => number): number {
  const x = r();
  let lo = 0;
  let hi = c.cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (c.cdf[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface SimProfile {
  gz: Buffer;
  /** Sampled events (the agent's sample count). */
  events: number;
  /** Distinct (process, stack) rows per profile type. */
  rows: number;
  /** TSV lines of kiln_samples for the direct-insert baseline (time filled in later). */
  rowsOf: (timeS: number) => string[];
}

const PERIOD = 52_631_578; // 19 Hz

/**
 * One 10 s agent profile of `node`: `events` samples at 19 Hz over `procs` processes, each sample
 * a Zipf draw from the corpus; identical (process, stack) samples merged, as the agent does.
 */
export function agentProfile(c: Corpus, node: string, procs: number, events: number, seed: number): SimProfile {
  const r = rng(seed);
  const counts = new Map<string, number>();
  for (let i = 0; i < events; i++) {
    const key = `${Math.floor(r() * procs)}:${pick(c, r)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const st = new StringTable();
  const { loc, functions, locations } = functionTable(st, { filename: '', address: (id) => 0x400000 + id * 16 });
  const samples: Sample[] = [];
  const tsv: [number, number, number][] = [];
  for (const [key, n] of counts) {
    const [p, s] = key.split(':').map(Number) as [number, number];
    const service = `svc-${p % 5}`;
    const labels = { service, version: 'v1', node, pid: String(1000 + p), comm: service, exe: `/usr/bin/${service}` };
    samples.push(
      new Sample({
        locationId: [...c.stacks[s]!].reverse().map(loc),
        value: [n * PERIOD, n],
        label: Object.entries(labels).map(([k, v]) => new Label({ key: st.dedup(k), str: st.dedup(v) })),
      }),
    );
    tsv.push([p, s, n]);
  }
  const profile = new Profile({
    sampleType: [
      new ValueType({ type: st.dedup('cpu'), unit: st.dedup('nanoseconds') }),
      new ValueType({ type: st.dedup('samples'), unit: st.dedup('count') }),
    ],
    periodType: new ValueType({ type: st.dedup('cpu'), unit: st.dedup('nanoseconds') }),
    period: PERIOD,
    sample: samples,
    location: locations,
    function: functions,
    stringTable: st,
  });
  const nodeHash = hashString(node);
  return {
    gz: gzipSync(profile.encode()),
    events,
    rows: counts.size,
    rowsOf: (timeS) =>
      tsv.flatMap(([p, s, n]) => {
        const fp = (BigInt(nodeHash) * 1000n + BigInt(p)).toString();
        const svc = `svc-${p % 5}`;
        const h = (BigInt(s) * 2654435761n + 12345n).toString();
        return [`cpu\t${svc}\t${fp}\t${timeS}\t${h}\t${n * PERIOD}\t0\t0\n`, `samples\t${svc}\t${fp}\t${timeS}\t${h}\t${n}\t0\t0\n`];
      }),
  };
}

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

export function flag(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : dflt;
}
