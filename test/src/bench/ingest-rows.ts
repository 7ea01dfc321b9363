// Benchmark (not a test) of the server's CPU per pprof upload, in-process: the `buildRows` path of
// POST /ingest (gunzip; decodePprof + sampleTypes; UploadBuilder + addPprof + finish; the sample
// rows' TSV as the insert batcher writes it) over a
// rotating set of simulated agent profiles. Two catalogs: "steady" (warm, every function and stack
// already written today: what a running server sees) and "cold" (a fresh catalog per upload: every
// function and stack new). Best of the rounds; CPU ms per upload per step ("decode+rows" is the
// server's own code, "total" adds zlib).
//
//   node test/dist/bench/ingest-rows.js [--rounds 7] [--agents 16] [--events 1500] [--procs 10] [--corpus 3000]
import {
  addPprof,
  Catalog,
  decodePprof,
  defaultIngestLimits,
  gunzipLimited,
  sampleTypes,
  TsvWriter,
  UploadBuilder,
} from '@kiln/server/ingest-internals';
import { agentProfile, flag, makeCorpus } from './server-sim.js';

const args = process.argv.slice(2);
const rounds = flag(args, 'rounds', 7);
const agents = flag(args, 'agents', 16);
const events = flag(args, 'events', 1500);
const procs = flag(args, 'procs', 10);
const corpus = makeCorpus(flag(args, 'corpus', 3000));
const uploads = Array.from({ length: agents * 4 }, (_, i) => agentProfile(corpus, `node-${i % agents}`, procs, events, i + 1).gz);
const nameLabels = new Map([['service', 'kiln-agent']]);
const fromMs = Date.UTC(2025, 0, 1);

/** One upload as buildRows does it, CPU microseconds of each step added to `cpu`. */
function buildRows(catalog: Catalog, gz: Buffer, cpu: Float64Array): number {
  const t0 = process.cpuUsage();
  const bytes = gunzipLimited(gz, defaultIngestLimits.maxProfileBytes, 'the pprof profile');
  const t1 = process.cpuUsage();
  const profile = decodePprof(bytes);
  const types = sampleTypes(profile);
  const t2 = process.cpuUsage();
  const b = new UploadBuilder(catalog, defaultIngestLimits, types, {
    fromMs,
    untilMs: fromMs + 10_000,
    format: 'pprof',
    spyName: '',
    sampleRate: 100,
    nameLabels,
    id: 'x',
  });
  addPprof(profile, b, nameLabels);
  const rows = b.finish(gz);
  const t3 = process.cpuUsage();
  const tsv = new TsvWriter(100 * rows.samples.length);
  rows.samples.writeTsv(tsv);
  const t4 = process.cpuUsage();
  UploadBuilder.markWritten(catalog, rows);
  const us = (u: NodeJS.CpuUsage) => u.user + u.system;
  cpu[0]! += us(t1) - us(t0);
  cpu[1]! += us(t2) - us(t1);
  cpu[2]! += us(t3) - us(t2);
  cpu[3]! += us(t4) - us(t3);
  return rows.samples.length;
}

function run(name: string, catalogFor: () => Catalog): void {
  let best: { cpu: Float64Array; wall: number } | undefined;
  let rows = 0;
  for (let r = 0; r < rounds; r++) {
    const cpu = new Float64Array(4);
    const start = performance.now();
    rows = 0;
    for (const gz of uploads) rows += buildRows(catalogFor(), gz, cpu);
    const wall = performance.now() - start;
    if (best === undefined || wall < best.wall) best = { cpu, wall };
  }
  const ms = (us: number) => (us / 1000 / uploads.length).toFixed(2);
  const [gunzip, decode, build, tsv] = best!.cpu;
  console.log(
    `${name}: ${(best!.wall / uploads.length).toFixed(2)} ms per upload (wall); CPU ms per upload: gunzip ${ms(gunzip!)}, decode ${ms(decode!)}, rows ${ms(build!)}, ` +
      `sample TSV ${ms(tsv!)}, decode+rows+TSV ${ms(decode! + build! + tsv!)}, total ${ms(gunzip! + decode! + build! + tsv!)} (${Math.round(rows / uploads.length)} sample rows)`,
  );
}

const avgKiB = uploads.reduce((s, g) => s + g.length, 0) / uploads.length / 1024;
console.log(
  `${uploads.length} uploads of ${events} events over ${procs} processes, ${avgKiB.toFixed(0)} KiB gzipped; best of ${rounds} rounds`,
);
const steady = new Catalog();
for (const gz of uploads) buildRows(steady, gz, new Float64Array(4)); // warm: everything written today
run('steady', () => steady);
run('cold  ', () => new Catalog());
