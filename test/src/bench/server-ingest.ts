// Benchmark (not a test) of ingest: simulated agents push 10 s pprof profiles to a real
// `kiln server` (CLI, embedded chDB) concurrently, back to back; then what the server stored is
// inserted straight into chDB by a minimal script, the physical limit, twice: the sample rows alone,
// and the sample rows with the uploads as received (kiln_profiles, which the server must keep too).
// Prints samples/s, upload latency and the ratios.
//
//   node test/dist/bench/server-ingest.js [--quick] [--agents 50] [--seconds 30] [--events 1500]
//        [--procs 10] [--corpus 3000] [--no-baseline]
// --no-baseline: the server's numbers only (to compare two builds of the server, run back to back).
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { TsvWriter } from '@kiln/server/ingest-internals';
import { createChdbConnection } from 'chdb/connection';
import { startServer, tempDir } from '../lib/kiln.js';
import { agentProfile, flag, makeCorpus, quantile, type SimProfile } from './server-sim.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const agents = flag(args, 'agents', quick ? 16 : 50);
const seconds = flag(args, 'seconds', quick ? 10 : 30);
const events = flag(args, 'events', 1500);
const procs = flag(args, 'procs', 10);
const corpusSize = flag(args, 'corpus', 3000);
const baseline = !args.includes('--no-baseline');
const PER_AGENT = 4;

const corpus = makeCorpus(corpusSize);
console.log(
  `corpus: ${corpusSize} stacks (depth 20-60, Zipf 1.1); ${agents} agents, ${events} samples per 10 s profile over ${procs} processes`,
);
const payloads: SimProfile[][] = Array.from({ length: agents }, (_, a) =>
  Array.from({ length: PER_AGENT }, (_, k) => agentProfile(corpus, `node-${a}`, procs, events, a * 100 + k + 1)),
);
const avgRows = payloads.flat().reduce((s, p) => s + p.rows, 0) / (agents * PER_AGENT);
const avgBytes = payloads.flat().reduce((s, p) => s + p.gz.length, 0) / (agents * PER_AGENT);
console.log(
  `profile: ${events} samples → ${avgRows.toFixed(0)} (process, stack) rows × 2 types, ${(avgBytes / 1024).toFixed(1)} KiB gzipped`,
);

const server = await startServer();
const cpuSeconds = async (): Promise<number> =>
  Number(/^process_cpu_seconds_total (\S+)/m.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1] ?? NaN);
const cpuBefore = await cpuSeconds();
const latencies: number[] = [];
let uploads = 0;
let rowsStored = 0;
let eventsStored = 0;
let failures = 0;
const start0 = Math.floor(Date.now() / 1000) - 86_400;
const started = performance.now();
const deadline = started + seconds * 1000;
await Promise.all(
  Array.from({ length: agents }, async (_, a) => {
    for (let i = 0; performance.now() < deadline; i++) {
      const p = payloads[a]![i % PER_AGENT]!;
      const from = start0 + i * 10;
      const t0 = performance.now();
      const res = await fetch(`${server.url}/ingest?name=kiln-agent&format=pprof&spyName=kiln-agent&from=${from}&until=${from + 10}`, {
        method: 'POST',
        body: p.gz,
        headers: { 'content-type': 'application/octet-stream' },
      });
      const body = (await res.json()) as { samples?: number };
      latencies.push(performance.now() - t0);
      if (res.status !== 200) {
        failures++;
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      uploads++;
      rowsStored += body.samples ?? 0;
      eventsStored += p.events;
    }
  }),
);
const elapsed = (performance.now() - started) / 1000;
const metrics = await (await fetch(`${server.url}/metrics`)).text();
// The merges the load started go on after it: both sides are also measured until they are done.
const serverSettledCpu = (await settled(cpuSeconds)) - cpuBefore;
await server.stop();
const batches = Number(/kiln_ingest_batch_uploads_count (\d+)/.exec(metrics)?.[1] ?? 0);
const serverCpu = Number(/^process_cpu_seconds_total (\S+)/m.exec(metrics)?.[1] ?? NaN) - cpuBefore;
const insertSeconds = Number(/kiln_ingest_insert_duration_seconds_sum\{result="ok"\} (\S+)/.exec(metrics)?.[1] ?? NaN);
const rowsPerBatch = rowsStored / Math.max(1, batches);

// The physical limit: the same rows into chDB (same table definitions) by a minimal script, in
// batches of the server's sizes, through the same zero-copy TSV insert the server uses.
const rawUploadBatches = Number(/kiln_ingest_raw_batch_uploads_count (\d+)/.exec(metrics)?.[1] ?? 0);
const uploadsPerRawBatch = Math.max(1, Math.round(uploads / Math.max(1, rawUploadBatches)));
rmSync(server.dataDir, { recursive: true, force: true });

/** The server's sample rows (and with `uploads`, its kiln_profiles rows) inserted by a minimal script: wall and CPU seconds. */
async function rawInsert(uploads: boolean): Promise<{ elapsed: number; cpu: number; settledCpu: number }> {
  const dir = tempDir('kiln-bench-raw-');
  const connection = createChdbConnection({ path: dir });
  await connection.chdb
    .queryAsync(`CREATE TABLE kiln_samples (profile_type LowCardinality(String), service LowCardinality(String), series_fp UInt64 CODEC(LZ4),
      time DateTime CODEC(Delta(4), LZ4), stack_hash UInt64 CODEC(LZ4), value Int64 CODEC(T64, LZ4), span_id UInt64 CODEC(ZSTD(1)),
      trace_id UInt128 CODEC(ZSTD(1))) ENGINE = MergeTree PARTITION BY toDate(time)
      ORDER BY (profile_type, service, series_fp, toStartOfHour(time), stack_hash, time)`);
  await connection.chdb
    .queryAsync(`CREATE TABLE kiln_profiles (id UUID, time DateTime64(3), until DateTime64(3), service LowCardinality(String),
      labels Map(LowCardinality(String), String), profile_types Array(LowCardinality(String)), series_fps Array(UInt64), format LowCardinality(String),
      spy_name LowCardinality(String), sample_rate UInt32, samples UInt32, size UInt32, payload String DEFAULT '' CODEC(LZ4),
      INDEX id_bloom id TYPE bloom_filter GRANULARITY 1) ENGINE = MergeTree() PARTITION BY toDate(time) ORDER BY (service, time)`);
  const lines: string[] = [];
  const profileRows: { p: SimProfile; timeS: number }[] = [];
  for (let i = 0; lines.length < rowsStored; i++) {
    const p = payloads[i % agents]![Math.floor(i / agents) % PER_AGENT]!;
    const timeS = start0 + Math.floor(i / agents) * 10;
    for (const l of p.rowsOf(timeS)) lines.push(l);
    profileRows.push({ p, timeS });
  }
  lines.length = rowsStored;
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const ownCpu = (): number => {
    const u = process.cpuUsage(cpuStart);
    return (u.user + u.system) / 1e6;
  };
  const step = Math.max(1, Math.round(rowsPerBatch));
  const uploadsPerStep = step / (rowsStored / profileRows.length);
  let stored = 0;
  for (let i = 0; i < lines.length; i += step) {
    await connection.chdb.rawInsert({
      table: 'kiln_samples',
      format: 'TabSeparated',
      values: Buffer.from(lines.slice(i, i + step).join('')),
    });
    // The uploads of these rows, once a batch of the server's size is due.
    const due = Math.min(profileRows.length, Math.round((i / step + 1) * uploadsPerStep));
    if (uploads && (due - stored >= uploadsPerRawBatch || i + step >= lines.length)) {
      const w = new TsvWriter();
      for (; stored < due; stored++) {
        const { p, timeS } = profileRows[stored]!;
        w.text(
          `${randomUUID()}\t${timeS}.000\t${timeS + 10}.000\tkiln-agent\t{'service':'kiln-agent'}\t['cpu','samples']\t[]\tpprof\tkiln-agent\t100\t${p.events}\t${p.gz.length}\t`,
        );
        w.escapedBytes(p.gz);
        w.newline();
      }
      await connection.chdb.rawInsert({ table: 'kiln_profiles', format: 'TabSeparated', values: w.result() });
    }
  }
  const elapsed = (performance.now() - started) / 1000;
  const cpu = ownCpu();
  const settledCpu = await settled(async () => ownCpu());
  await connection.close();
  rmSync(dir, { recursive: true, force: true });
  return { elapsed, cpu, settledCpu };
}

const serverRate = rowsStored / elapsed;
console.log(`\nkiln server (HTTP /ingest, pprof decode, dedup, batched insert), ${elapsed.toFixed(1)} s:`);
console.log(
  `  uploads ${uploads} (${failures} refused), ${(uploads / elapsed).toFixed(1)} uploads/s, ${batches} insert batches of sample rows (${rowsPerBatch.toFixed(0)} rows each), ${rawUploadBatches} of uploads as received (${uploadsPerRawBatch} each)`,
);
console.log(
  `  sample rows ${rowsStored}: ${Math.round(serverRate)} rows/s; sampled events ${eventsStored}: ${Math.round(eventsStored / elapsed)} events/s`,
);
console.log(
  `  upload latency p50 ${quantile(latencies, 0.5).toFixed(0)} ms, p99 ${quantile(latencies, 0.99).toFixed(0)} ms; insert ${((1000 * insertSeconds) / Math.max(1, batches)).toFixed(0)} ms per batch`,
);
console.log(
  `  server CPU ${serverCpu.toFixed(1)} s (${((100 * serverCpu) / elapsed).toFixed(0)}% of one core): ${Math.round(rowsStored / serverCpu)} sample rows per CPU-second, ${((1000 * serverCpu) / Math.max(1, uploads)).toFixed(2)} CPU-ms per upload`,
);
const baselines = [
  ['the sample rows', false],
  ['the sample rows and the uploads as received', true],
] as const;
for (const [what, withUploads] of baseline ? baselines : []) {
  const raw = await rawInsert(withUploads);
  console.log(
    `straight into chDB, ${what} (minimal script, same rows and batch sizes): ${Math.round(rowsStored / raw.elapsed)} sample rows/s in ${raw.elapsed.toFixed(1)} s; CPU ${raw.cpu.toFixed(1)} s: ${Math.round(rowsStored / raw.cpu)} rows per CPU-second`,
  );
  console.log(
    `  ratio server / raw insert: ${(serverRate / (rowsStored / raw.elapsed)).toFixed(2)}x wall-clock, ${(raw.cpu / serverCpu).toFixed(2)}x per CPU-second`,
  );
  console.log(
    `  with the merges that follow the load (CPU until it stops rising): server ${serverSettledCpu.toFixed(1)} s, raw ${raw.settledCpu.toFixed(1)} s; ratio ${(raw.settledCpu / serverSettledCpu).toFixed(2)}x per CPU-second`,
  );
}

/** A CPU-seconds counter once it has stopped rising (under 0.02 s in each of two seconds in a row; at most 120 s). */
async function settled(cpu: () => Promise<number>): Promise<number> {
  let last = await cpu();
  let quiet = 0;
  for (let i = 0; i < 120 && quiet < 2; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = await cpu();
    quiet = now - last < 0.02 ? quiet + 1 : 0;
    last = now;
  }
  return last;
}
