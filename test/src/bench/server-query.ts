// Benchmark (not a test) of the query path: one hour of 50 simulated nodes ingested through a
// real `kiln server`; then flame graph and diff latency (p50/p95) against the bare `GROUP BY stack`
// query on the same rows, and bytes on disk per stored sample after OPTIMIZE TABLE … FINAL.
//
//   node test/dist/bench/server-query.js [--quick] [--nodes 50] [--minutes 60] [--events 760] [--runs 15] [--data DIR]
//
// `--data DIR` keeps the loaded store in DIR, and a later run with the same DIR skips the load: two
// builds of the server (before and after a change) then answer the same queries on the same rows.
//
// "Samples" are counted two ways: sample rows (one per series, stack and 10 s upload: what the
// scan reads) and sampled events (what the agents counted). `--minutes 80` selects over 10 M of both.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient, type ClickHouseClientConfigOptions } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { startServer, tempDir } from '../lib/kiln.js';
import { agentProfile, flag, makeCorpus, quantile, type SimProfile } from './server-sim.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const nodes = flag(args, 'nodes', quick ? 10 : 50);
const minutes = flag(args, 'minutes', quick ? 15 : 60);
const events = flag(args, 'events', 760); // 19 Hz × 4 CPUs × 10 s
const runs = flag(args, 'runs', quick ? 7 : 15);
const PER_NODE = 6;

const corpus = makeCorpus(3000);
const keptData = args.includes('--data') ? args[args.indexOf('--data') + 1]! : undefined;
const dataDir = keptData ?? tempDir('kiln-bench-query-');
const metaFile = join(dataDir, 'bench-query.json');
interface Loaded {
  hourStart: number;
  totalEvents: number;
  nodes: number;
  minutes: number;
}
let server: Awaited<ReturnType<typeof startServer>>;
let loaded: Loaded;
if (keptData !== undefined && existsSync(metaFile)) {
  loaded = JSON.parse(readFileSync(metaFile, 'utf8')) as Loaded;
  if (loaded.nodes !== nodes || loaded.minutes !== minutes)
    throw new Error(`${dataDir} holds ${loaded.nodes} nodes × ${loaded.minutes} min; pass the same --nodes and --minutes`);
  console.log(`using ${dataDir}: ${loaded.nodes} nodes × ${loaded.minutes} min loaded before`);
} else {
  mkdirSync(dataDir, { recursive: true });
  loaded = await load();
  writeFileSync(metaFile, JSON.stringify(loaded));
}
const { hourStart, totalEvents } = loaded;

async function load(): Promise<Loaded> {
  const payloads: SimProfile[][] = Array.from({ length: nodes }, (_, n) =>
    Array.from({ length: PER_NODE }, (_, k) => agentProfile(corpus, `node-${n}`, 10, events, n * 100 + k + 1)),
  );
  const hourStart = Math.floor(Date.now() / 1000 / 3600) * 3600 - 2 * 3600;
  const profilesPerNode = (minutes * 60) / 10;

  console.log(`loading ${nodes} nodes × ${minutes} min of 10 s profiles (${events} samples each) through /ingest …`);
  server = await startServer({ dataDir });
  let totalEvents = 0;
  const loadStart = performance.now();
  const jobs: (() => Promise<void>)[] = [];
  for (let n = 0; n < nodes; n++) {
    for (let i = 0; i < profilesPerNode; i++) {
      const p = payloads[n]![i % PER_NODE]!;
      const from = hourStart + i * 10;
      jobs.push(async () => {
        for (;;) {
          const res = await fetch(`${server.url}/ingest?name=kiln-agent&format=pprof&from=${from}&until=${from + 10}`, {
            method: 'POST',
            body: p.gz,
          });
          await res.arrayBuffer();
          if (res.status === 200) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        totalEvents += p.events;
      });
    }
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < jobs.length) await jobs[next++]!();
    }),
  );
  console.log(`loaded ${jobs.length} profiles, ${totalEvents} samples, in ${((performance.now() - loadStart) / 1000).toFixed(1)} s`);
  await server.stop();
  return { hourStart, totalEvents, nodes, minutes };
}

// Storage and the bare query, straight on the data directory (the server is stopped: one chDB per directory).
const client = createClient({
  connection: createChdbConnection({ path: dataDir }) as unknown as ClickHouseClientConfigOptions['connection'],
});
await client.command({ query: 'OPTIMIZE TABLE kiln_samples FINAL' }); // a no-op on a store optimized before
const [size] = await (
  await client.query({
    query: `SELECT sum(rows) AS rows, sum(data_compressed_bytes) AS bytes FROM system.parts WHERE table = 'kiln_samples' AND active AND database = currentDatabase()`,
    format: 'JSONEachRow',
  })
).json<{ rows: string; bytes: string }>();
const [extra] = await (
  await client.query({
    query: `SELECT (SELECT sum(data_compressed_bytes) FROM system.parts WHERE active AND database = currentDatabase() AND table = 'kiln_stacks') AS stacks,
                   (SELECT sum(data_compressed_bytes) FROM system.parts WHERE active AND database = currentDatabase() AND table = 'kiln_profiles') AS profiles`,
    format: 'JSONEachRow',
  })
).json<{ stacks: string; profiles: string }>();
const rows = Number(size!.rows);
const bytes = Number(size!.bytes);
const from = hourStart;
const until = hourStart + minutes * 60;
const sel = `profile_type = 'cpu' AND time >= toDateTime(${from}) AND time < toDateTime(${until})`;
const half = Math.floor(nodes / 2);
const left = `${sel} AND series_fp IN (SELECT series_fp FROM kiln_series WHERE profile_type = 'cpu' AND toUInt32(substring(labels['node'], 6)) < ${half})`;
const right = `${sel} AND series_fp IN (SELECT series_fp FROM kiln_series WHERE profile_type = 'cpu' AND toUInt32(substring(labels['node'], 6)) >= ${half})`;
const time = async (q: string): Promise<number[]> => {
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await (await client.query({ query: q, format: 'TabSeparated' })).text();
    ts.push(performance.now() - t0);
  }
  return ts;
};
const bareFlame = await time(`SELECT stack_hash, sum(value) FROM kiln_samples WHERE ${sel} GROUP BY stack_hash`);
const bareDiff = await time(
  `SELECT stack_hash, sumIf(value, ${left}), sumIf(value, ${right}) FROM kiln_samples WHERE (${left}) OR (${right}) GROUP BY stack_hash`,
);
const [cpuRows] = await (
  await client.query({ query: `SELECT count() AS n FROM kiln_samples WHERE ${sel}`, format: 'JSONEachRow' })
).json<{ n: string }>();
await client.close();

// The API on the same data.
server = await startServer({ dataDir });
const api = async (path: string, params: Record<string, string>): Promise<{ cold: number; ts: number[] }> => {
  const u = new URL(path, server.url);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  const ts: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now();
    const res = await fetch(u);
    await res.text();
    if (res.status !== 200) throw new Error(`${u.href} → ${res.status}`);
    ts.push(performance.now() - t0);
  }
  return { cold: ts[0]!, ts: ts.slice(1) };
};
const leftNodes = `node-(${Array.from({ length: half }, (_, i) => i).join('|')})`;
const flame = await api('/api/v1/flamegraph', { query: 'cpu{}', from: String(from), until: String(until) });
const diff = await api('/api/v1/diff', {
  left: `cpu{node=~"${leftNodes}"}`,
  right: `cpu{node!~"${leftNodes}"}`,
  from: String(from),
  until: String(until),
});
await server.stop();
if (keptData === undefined) rmSync(dataDir, { recursive: true, force: true });

const fmt = (ts: number[]) => `p50 ${quantile(ts, 0.5).toFixed(0)} ms, p95 ${quantile(ts, 0.95).toFixed(0)} ms`;
console.log(`\nselection: ${Number(cpuRows!.n)} cpu sample rows = ${totalEvents} sampled events (${nodes} nodes, ${minutes} min)`);
console.log(`bare GROUP BY stack (chDB, same rows):   ${fmt(bareFlame)}`);
console.log(
  `GET /api/v1/flamegraph:                   ${fmt(flame.ts)} (first, cold catalog: ${flame.cold.toFixed(0)} ms); ratio p50 ${(quantile(flame.ts, 0.5) / quantile(bareFlame, 0.5)).toFixed(2)}x`,
);
console.log(`bare two-sided GROUP BY (one scan):       ${fmt(bareDiff)}`);
console.log(
  `GET /api/v1/diff:                         ${fmt(diff.ts)} (first: ${diff.cold.toFixed(0)} ms); ratio to bare diff p50 ${(quantile(diff.ts, 0.5) / quantile(bareDiff, 0.5)).toFixed(2)}x, to bare flame ${(quantile(diff.ts, 0.5) / quantile(bareFlame, 0.5)).toFixed(2)}x, to flame graph ${(quantile(diff.ts, 0.5) / quantile(flame.ts, 0.5)).toFixed(2)}x`,
);
console.log(
  `kiln_samples after OPTIMIZE FINAL: ${rows} rows (cpu + samples types), ${bytes} bytes = ${(bytes / rows).toFixed(2)} bytes per stored sample row (${(bytes / (2 * totalEvents)).toFixed(3)} per sampled event and type)`,
);
console.log(`beside it: kiln_stacks ${extra!.stacks} bytes, kiln_profiles (raw uploads) ${extra!.profiles} bytes`);
