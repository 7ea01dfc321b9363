// Benchmark (not a pass/fail test): symbolization throughput of
// @kiln/symbolizer against `llvm-symbolizer --obj BIN` on the same addresses.
//
//   node test/dist/bench/symbolize-throughput.js [--addresses 20000] [--batch 1000] [--seed 1] [--json]
//
// Targets: the node binary running this script (large: .symtab and partial DWARF)
// and cpp_workload / cpu_ratio (small, full DWARF with inline frames). For each,
// two sets A and B of random addresses inside the binary's functions (from
// `nm -S`) are symbolized:
//   cold      — a new Symbolizer, set A (includes reading /proc/<pid>/maps and opening the ELF/DWARF);
//   warm      — set A again on the same Symbolizer (frame cache);
//   warm ELF  — set B on the same Symbolizer (ELF/DWARF state cached, addresses new).
// llvm-symbolizer gets the same file addresses on stdin (best of three runs each):
// cold = one run over A (process start included); warm = (run(A ×5) − run(A)) / 4 passes;
// warm ELF = run(A, B) − run(A). Agreement is the share of addresses where our
// inline chain of names equals llvm-symbolizer's (informational: LLVM's demangler
// writes "(.constprop.0)" and "'lambda'()" where GNU's, like ours, writes
// "[clone .constprop.0]" and "{lambda()#1}"; folded identical functions may pick
// another alias).
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Symbolizer } from '@kiln/symbolizer';
import { fileAddress, loadSegments, sameSymbol, type PMapping } from '../lib/pprof.js';
import { buildWorkloads, startWorkload, workloadPath, type Workload } from '../lib/workloads.js';

interface Options {
  addresses: number;
  batch: number;
  seed: number;
  json: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { addresses: 20_000, batch: 1000, seed: 1, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => Number(argv[++i]);
    if (a === '--addresses') o.addresses = v();
    else if (a === '--batch') o.batch = v();
    else if (a === '--seed') o.seed = v();
    else if (a === '--json') o.json = true;
    else if (a === '--help') {
      process.stdout.write('usage: node test/dist/bench/symbolize-throughput.js [--addresses 20000] [--batch 1000] [--seed 1] [--json]\n');
      process.exit(0);
    } else throw new Error(`unknown flag ${a}`);
  }
  return o;
}

const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);

/** xorshift32: the same addresses for the same seed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

interface Fn {
  vaddr: bigint;
  size: bigint;
}

/** Function symbols with a size, from `nm -S --defined-only`. */
function functionsOf(bin: string): Fn[] {
  const out = execFileSync('nm', ['-S', '--defined-only', bin], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const fns: Fn[] = [];
  for (const line of out.split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) [tTwW] /.exec(line);
    if (m && BigInt('0x' + m[2]) > 0n) fns.push({ vaddr: BigInt('0x' + m[1]), size: BigInt('0x' + m[2]) });
  }
  if (fns.length === 0) throw new Error(`no sized function symbols in ${bin}`);
  return fns;
}

/** Executable mappings of `bin` in `pid`, as pprof-style mappings. */
function mappingsOf(pid: number, bin: string): PMapping[] {
  const real = realpathSync(bin);
  const maps: PMapping[] = [];
  for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) \S+ \d+\s+(.*)$/.exec(line);
    if (!m || !m[3]!.includes('x') || m[5] !== real) continue;
    maps.push({
      id: maps.length + 1,
      start: BigInt('0x' + m[1]),
      limit: BigInt('0x' + m[2]),
      offset: BigInt('0x' + m[4]),
      file: real,
      buildId: '',
      hasFunctions: false,
      hasInlineFrames: false,
    });
  }
  if (maps.length === 0) throw new Error(`${bin} is not mapped executable in ${pid}`);
  return maps;
}

interface AddressSet {
  runtime: number[];
  file: bigint[];
}

async function addressSets(pid: number, bin: string, n: number, seed: number): Promise<[AddressSet, AddressSet]> {
  const fns = functionsOf(bin);
  const segs = await loadSegments(bin);
  const maps = mappingsOf(pid, bin);
  const rand = rng(seed);
  const make = (): AddressSet => {
    const set: AddressSet = { runtime: [], file: [] };
    while (set.runtime.length < n) {
      const f = fns[Math.floor(rand() * fns.length)]!;
      const vaddr = f.vaddr + BigInt(Math.floor(rand() * Number(f.size)));
      const seg = segs.find((s) => vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz);
      if (!seg) continue;
      const fileOffset = vaddr - seg.vaddr + seg.offset;
      const m = maps.find((x) => fileOffset >= x.offset && fileOffset < x.offset + (x.limit - x.start));
      if (!m) continue;
      const runtime = m.start + (fileOffset - m.offset);
      if (fileAddress(runtime, m, segs) !== vaddr) throw new Error('address round trip failed');
      set.runtime.push(Number(runtime));
      set.file.push(vaddr);
    }
    return set;
  };
  return [make(), make()];
}

/** Seconds llvm-symbolizer takes over these address lists fed one after the other on stdin; plus its output blocks. */
function llvmRun(bin: string, lists: bigint[][]): Promise<{ seconds: number; blocks: string[][] }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn('llvm-symbolizer', ['--obj', bin, '--functions=linkage', '--inlines', '--demangle'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const chunks: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => chunks.push(d));
    p.on('error', reject);
    p.on('exit', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      if (code !== 0) return reject(new Error(`llvm-symbolizer exited ${code}`));
      const text = Buffer.concat(chunks).toString();
      const blocks = text
        .replace(/\n+$/, '')
        .split(/\n\n/)
        .map((b) => b.split('\n').filter((_, i) => i % 2 === 0));
      resolve({ seconds, blocks });
    });
    p.stdin.end(
      lists
        .flat()
        .map((a) => '0x' + a.toString(16))
        .join('\n') + '\n',
    );
  });
}

interface Result {
  target: string;
  binary: string;
  addresses: number;
  distinct: number;
  ours: { cold: number; warm: number; warmElf: number };
  llvm: { cold: number; warm: number; warmElf: number };
  agreement: { compared: number; agreed: number; unknown: number; examples: string[] };
}

async function benchTarget(target: string, pid: number, bin: string, o: Options): Promise<Result> {
  const [a, b] = await addressSets(pid, bin, o.addresses, o.seed);
  const timeOurs = (sym: Symbolizer, set: AddressSet) => {
    const t0 = performance.now();
    const frames = [];
    for (let i = 0; i < set.runtime.length; i += o.batch)
      frames.push(...sym.symbolizeUser(pid, set.runtime.slice(i, i + o.batch), undefined, false));
    return { seconds: (performance.now() - t0) / 1000, frames };
  };
  const sym = new Symbolizer();
  const cold = timeOurs(sym, a);
  const warm = timeOurs(sym, a);
  const warmElf = timeOurs(sym, b);
  sym.close();

  // Best of three runs each; warm over four extra passes so that tiny binaries are measurable.
  const best = async (lists: bigint[][]) => {
    let r = await llvmRun(bin, lists);
    for (let i = 0; i < 2; i++) {
      const x = await llvmRun(bin, lists);
      if (x.seconds < r.seconds) r = x;
    }
    return r;
  };
  const lA = await best([a.file]);
  const lA5 = await best([a.file, a.file, a.file, a.file, a.file]);
  const lAB = await best([a.file, b.file]);

  const agreement = { compared: 0, agreed: 0, unknown: 0, examples: [] as string[] };
  cold.frames.forEach((uf, i) => {
    const ours = uf.frames.map((f) => f.name);
    if (ours.length === 1 && ours[0]!.startsWith('[unknown]')) {
      agreement.unknown++;
      return;
    }
    const theirs = lA.blocks[i] ?? [];
    agreement.compared++;
    if (ours.length === theirs.length && ours.every((n, k) => sameSymbol(n, theirs[k]!))) agreement.agreed++;
    else if (agreement.examples.length < 5)
      agreement.examples.push(`0x${a.file[i]!.toString(16)}: ours [${ours.join(' ← ')}] llvm [${theirs.join(' ← ')}]`);
  });
  const rate = (n: number, s: number) => n / s;
  return {
    target,
    binary: bin,
    addresses: o.addresses,
    distinct: new Set(a.runtime).size,
    ours: { cold: rate(o.addresses, cold.seconds), warm: rate(o.addresses, warm.seconds), warmElf: rate(o.addresses, warmElf.seconds) },
    llvm: {
      cold: rate(o.addresses, lA.seconds),
      // NaN when the difference is below the timing resolution (printed as —).
      warm: lA5.seconds > lA.seconds ? rate(4 * o.addresses, lA5.seconds - lA.seconds) : NaN,
      warmElf: lAB.seconds > lA.seconds ? rate(o.addresses, lAB.seconds - lA.seconds) : NaN,
    },
    agreement,
  };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  buildWorkloads();
  const workloads: Workload[] = [];
  try {
    const results: Result[] = [];
    const nodeBin = realpathSync(process.execPath);
    log(`node (${nodeBin}), pid ${process.pid}`);
    results.push(await benchTarget('node (this process)', process.pid, nodeBin, o));
    for (const name of ['cpp_workload', 'cpu_ratio']) {
      const w = await startWorkload(name, ['60', '1']);
      workloads.push(w);
      log(`${name}, pid ${w.pid}`);
      results.push(await benchTarget(name, w.pid, workloadPath(name), o));
    }
    if (o.json) {
      process.stdout.write(JSON.stringify(results, null, 2) + '\n');
      return;
    }
    const k = (x: number) =>
      !Number.isFinite(x) ? '—' : x >= 1e6 ? `${(x / 1e6).toFixed(2)} M/s` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k/s` : `${x.toFixed(0)}/s`;
    const lines = [
      '| target | addresses (distinct) | ours cold | ours warm | ours warm ELF, new addresses | llvm-symbolizer cold | llvm-symbolizer warm | llvm-symbolizer warm, new addresses | names agree with llvm-symbolizer |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...results.map(
        (r) =>
          `| ${r.target} | ${r.addresses} (${r.distinct}) | ${k(r.ours.cold)} | ${k(r.ours.warm)} | ${k(r.ours.warmElf)} | ${k(r.llvm.cold)} | ${k(r.llvm.warm)} | ${k(r.llvm.warmElf)} | ` +
          `${r.agreement.agreed}/${r.agreement.compared}${r.agreement.unknown ? ` (+${r.agreement.unknown} [unknown])` : ''} |`,
      ),
    ];
    process.stdout.write(`\nsymbolization throughput, addresses per second (batches of ${o.batch})\n\n${lines.join('\n')}\n`);
    for (const r of results) for (const e of r.agreement.examples) process.stdout.write(`  ${r.target} disagreement: ${e}\n`);
  } finally {
    for (const w of workloads) await w.stop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
