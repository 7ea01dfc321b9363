// The symbolizer against ground truth: binutils' addr2line for names, inline chains, files
// and lines of real running processes built from test/workloads/fixtures/symbolizer; nm for
// symbol-table-only binaries; /proc/kallsyms for the kernel.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Kallsyms, Symbolizer, type UserFrames } from '@kiln/symbolizer';

const sources = resolve(dirname(fileURLToPath(import.meta.url)), '../workloads/fixtures/symbolizer');
const CFLAGS = ['-O2', '-g', '-fno-omit-frame-pointer'];

let work = '';
const bin = {
  c: '',
  cNoPie: '',
  cc: '',
  lib: '',
  stripped: '',
  strippedDotDebug: '',
  mini: '',
};
const children: ChildProcess[] = [];

function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, maxBuffer: 1 << 28, stdio: ['pipe', 'pipe', 'pipe'] });
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'kiln-symbolizer-'));
  const src = (f: string): string => join(sources, f);
  bin.c = join(work, 'fixture_c');
  bin.cNoPie = join(work, 'fixture_c_nopie');
  bin.lib = join(work, 'libkilnfix.so');
  bin.cc = join(work, 'fixture_cc');
  sh('gcc', [...CFLAGS, '-o', bin.c, src('fixture.c')]);
  sh('gcc', [...CFLAGS, '-no-pie', '-o', bin.cNoPie, src('fixture.c')]);
  sh('g++', [...CFLAGS, '-fPIC', '-shared', '-o', bin.lib, src('fixture_lib.cc')]);
  sh('g++', [...CFLAGS, `-I${sources}`, '-o', bin.cc, src('fixture.cc'), `-L${work}`, '-lkilnfix', '-Wl,-rpath,$ORIGIN']);

  // Stripped, with .gnu_debuglink to a debug file next to it ...
  bin.stripped = join(work, 'fixture_c_stripped');
  copyFileSync(bin.c, bin.stripped);
  sh('objcopy', ['--only-keep-debug', bin.stripped, `${bin.stripped}.debug`]);
  sh('strip', ['--strip-all', bin.stripped]);
  sh('objcopy', [`--add-gnu-debuglink=${bin.stripped}.debug`, bin.stripped]);
  // ... and one whose debug file is in .debug/ (objcopy needs it in place to compute the CRC).
  mkdirSync(join(work, 'dd', '.debug'), { recursive: true });
  bin.strippedDotDebug = join(work, 'dd', 'fixture_c_dd');
  copyFileSync(bin.c, bin.strippedDotDebug);
  sh('objcopy', ['--only-keep-debug', bin.strippedDotDebug, `${bin.strippedDotDebug}.debug`]);
  sh('strip', ['--strip-all', bin.strippedDotDebug]);
  sh('objcopy', [`--add-gnu-debuglink=${bin.strippedDotDebug}.debug`, bin.strippedDotDebug]);
  renameSync(`${bin.strippedDotDebug}.debug`, join(work, 'dd', '.debug', 'fixture_c_dd.debug'));

  // MiniDebugInfo, the Fedora recipe: function symbols not in .dynsym, xz-compressed into .gnu_debugdata.
  bin.mini = join(work, 'fixture_c_mini');
  copyFileSync(bin.c, bin.mini);
  const names = (args: string[]): Set<string> =>
    new Set(
      sh('nm', [...args, '--format=posix', '--defined-only', bin.mini])
        .split('\n')
        .map((l) => l.split(' '))
        .filter((p) => args.includes('-D') || p[1] === 'T' || p[1] === 't')
        .map((p) => p[0] ?? '')
        .filter((n) => n !== ''),
    );
  const dyn = names(['-D']);
  writeFileSync(join(work, 'keep'), [...names([])].filter((n) => !dyn.has(n)).join('\n') + '\n');
  sh('objcopy', ['--only-keep-debug', bin.mini, join(work, 'mini.full')]);
  sh('objcopy', [
    '-S',
    '--remove-section',
    '.comment',
    `--keep-symbols=${join(work, 'keep')}`,
    join(work, 'mini.full'),
    join(work, 'mini'),
  ]);
  sh('xz', ['-f', join(work, 'mini')]);
  sh('strip', ['--strip-all', bin.mini]);
  sh('objcopy', ['--add-section', `.gnu_debugdata=${join(work, 'mini.xz')}`, bin.mini]);
});

after(() => {
  for (const c of children) c.kill('SIGKILL');
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

interface Running {
  child: ChildProcess;
  pid: number;
  line: string;
}

/** Starts a fixture and waits for its "ready" line. */
function start(cmd: string, args: string[]): Promise<Running> {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((res, rej) => {
    let out = '';
    child.once('error', rej);
    child.once('exit', (code) => rej(new Error(`${cmd} exited (${code}) before it was ready: ${out}`)));
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0 && out.startsWith('ready')) res({ child, pid: child.pid ?? 0, line: out.slice(0, nl) });
    });
  });
}

function stop(r: Running): void {
  r.child.kill('SIGKILL');
}

interface Load {
  offset: number;
  vaddr: number;
  filesz: number;
}

function loads(file: string): Load[] {
  return sh('readelf', ['-lW', file])
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((p) => p[0] === 'LOAD')
    .map((p) => ({ offset: parseInt(p[1] ?? '', 16), vaddr: parseInt(p[2] ?? '', 16), filesz: parseInt(p[4] ?? '', 16) }));
}

/** ELF vaddrs of `elf`, mapped in `pid` as `mappedPath`, → addresses in the process (independently of the symbolizer). */
function toProcess(pid: number, elf: string, vaddrs: number[], mappedPath = realpathSync(elf)): number[] {
  const maps = readFileSync(`/proc/${pid}/maps`, 'utf8')
    .split('\n')
    .map((l) => l.split(/\s+/))
    .filter((p) => p[5] === mappedPath && (p[1] ?? '').includes('x'))
    .map((p) => {
      const [s = '', e = ''] = (p[0] ?? '').split('-');
      return { start: parseInt(s, 16), end: parseInt(e, 16), offset: parseInt(p[2] ?? '', 16) };
    });
  const segs = loads(elf);
  return vaddrs.map((v) => {
    const seg = segs.find((s) => v >= s.vaddr && v < s.vaddr + s.filesz);
    assert.ok(seg, `0x${v.toString(16)} is in a PT_LOAD of ${elf}`);
    const off = v - seg.vaddr + seg.offset;
    const m = maps.find((x) => off >= x.offset && off < x.offset + (x.end - x.start));
    assert.ok(m, `file offset 0x${off.toString(16)} of ${elf} is mapped executable in ${pid}`);
    return m.start + off - m.offset;
  });
}

interface Fn {
  name: string;
  start: number;
  size: number;
}

/** Functions with a size from the symbol table (nm -S), sorted by address. */
function functions(file: string, dynamic = false): Fn[] {
  return sh('nm', [...(dynamic ? ['-D'] : []), '-S', '--defined-only', file])
    .split('\n')
    .map((l) => l.split(' '))
    .filter((p) => p.length === 4 && /^[tTwWi]$/.test(p[2] ?? ''))
    .map((p) => ({ name: (p[3] ?? '').replace(/@.*$/, ''), start: parseInt(p[0] ?? '', 16), size: parseInt(p[1] ?? '', 16) }))
    .filter((f) => f.size > 0)
    .sort((a, b) => a.start - b.start);
}

/** Every `step`-th byte of every function, from `skip` bytes in. */
function sample(fns: Fn[], step = 7, skip = 0): number[] {
  const out: number[] = [];
  for (const f of fns) for (let a = f.start + skip; a < f.start + f.size; a += step) out.push(a);
  return out;
}

interface Truth {
  names: string[];
  locs: string[];
}

/**
 * `addr2line -a -f -C -i` for each vaddr. BFD renames a C++ function without DW_AT_linkage_name
 * after its ELF symbol once it has looked it up, so its answers depend on what it was asked
 * before: the addresses are asked twice and the second, settled, answers kept.
 */
function addr2line(file: string, vaddrs: number[]): Truth[] {
  const input = [...vaddrs, ...vaddrs].map((v) => `0x${v.toString(16)}`).join('\n') + '\n';
  const lines = sh('addr2line', ['-a', '-f', '-C', '-i', '-e', file], input).split('\n');
  const out: Truth[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] ?? '';
    if (/^0x[0-9a-f]+$/.test(l)) out.push({ names: [], locs: [] });
    else if (l !== '') {
      const cur = out[out.length - 1];
      assert.ok(cur);
      cur.names.push(l);
      cur.locs.push((lines[++i] ?? '').replace(/ \(discriminator \d+\)$/, ''));
    }
  }
  assert.equal(out.length, vaddrs.length * 2);
  return out.slice(vaddrs.length);
}

function locs(u: UserFrames): string[] {
  return u.frames.map((f) => `${f.file ?? '??'}:${f.line ?? '?'}`);
}

/**
 * The one place BFD is not consistent with itself: for an inlined C++ function without
 * DW_AT_linkage_name as the innermost frame it prints the enclosing function's symbol, while
 * the same enclosing function further down the chain keeps its bare DW_AT_name. We name the
 * inlined function by its DWARF name and the enclosing one by its symbol, everywhere.
 */
function bfdInlinedSymbolQuirk(got: string[], exp: string[]): boolean {
  const n = exp.length;
  if (got.length !== n || n < 2) return false;
  for (let k = 1; k < n - 1; k++) if (got[k] !== exp[k]) return false;
  const outer = got[n - 1] ?? '';
  return got[0] !== exp[0] && exp[0] === outer && (exp[n - 1] === outer || outer.includes(exp[n - 1] ?? '\0'));
}

interface Agreement {
  total: number;
  names: number;
  quirk: number;
  locs: number;
  mismatches: string[];
}

function compare(s: Symbolizer, pid: number, elf: string, vaddrs: number[], truthElf = elf, mappedPath?: string): Agreement {
  const addrs = toProcess(pid, elf, vaddrs, mappedPath);
  const truth = addr2line(truthElf, vaddrs);
  const got = s.symbolizeUser(pid, addrs, undefined, false);
  const a: Agreement = { total: vaddrs.length, names: 0, quirk: 0, locs: 0, mismatches: [] };
  for (let i = 0; i < vaddrs.length; i++) {
    const u = got[i];
    const t = truth[i];
    assert.ok(u && t);
    const names = u.frames.map((f) => f.name);
    if (JSON.stringify(names) === JSON.stringify(t.names)) a.names++;
    else if (bfdInlinedSymbolQuirk(names, t.names)) a.quirk++;
    else a.mismatches.push(`0x${(vaddrs[i] ?? 0).toString(16)}: ours ${JSON.stringify(names)} addr2line ${JSON.stringify(t.names)}`);
    if (JSON.stringify(locs(u)) === JSON.stringify(t.locs)) a.locs++;
    else a.mismatches.push(`0x${(vaddrs[i] ?? 0).toString(16)}: ours ${JSON.stringify(locs(u))} addr2line ${JSON.stringify(t.locs)}`);
  }
  return a;
}

function report(t: TestContext, label: string, a: Agreement): void {
  t.diagnostic(
    `${label}: names ${a.names}/${a.total} identical to addr2line -f -C -i` +
      (a.quirk > 0 ? ` + ${a.quirk} where BFD names an inlined C++ function without DW_AT_linkage_name after the enclosing symbol` : '') +
      `; file:line ${a.locs}/${a.total}`,
  );
  assert.deepEqual(a.mismatches.slice(0, 20), [], `${label}: every address agrees with addr2line`);
  assert.equal(a.names + a.quirk, a.total);
  assert.equal(a.locs, a.total);
}

function lineOf(file: string, marker: string): number {
  const idx = readFileSync(file, 'utf8')
    .split('\n')
    .findIndex((l) => l.includes(marker));
  assert.ok(idx >= 0, `${marker} in ${file}`);
  return idx + 1;
}

describe('symbolizer: user space against addr2line', () => {
  test('C, PIE: names, inline chains, files and lines agree with addr2line -f -C -i', async (t) => {
    const r = await start(bin.c, ['spin']);
    const s = new Symbolizer();
    assert.equal(s.snapshotProcess(r.pid), true);
    const a = compare(s, r.pid, bin.c, sample(functions(bin.c)));
    report(t, 'fixture_c (PIE)', a);
    assert.equal(a.quirk, 0, 'C has no C++ naming quirk');
    assert.equal(s.stats().errors, 0);
    stop(r);
  });

  test('C, non-PIE executable: names, files and lines agree', async (t) => {
    const r = await start(bin.cNoPie, ['spin']);
    const s = new Symbolizer();
    const a = compare(s, r.pid, bin.cNoPie, sample(functions(bin.cNoPie)));
    report(t, 'fixture_c_nopie (ET_EXEC)', a);
    assert.equal(a.quirk, 0);
    stop(r);
  });

  test('C++ executable and its shared library: demangled names, inline chains, files and lines agree', async (t) => {
    const r = await start(bin.cc, ['spin']);
    const s = new Symbolizer();
    assert.equal(s.snapshotProcess(r.pid), true);
    const exe = compare(s, r.pid, bin.cc, sample(functions(bin.cc)));
    report(t, 'fixture_cc (C++ PIE)', exe);
    const lib = compare(s, r.pid, bin.lib, sample(functions(bin.lib)));
    report(t, 'libkilnfix.so (C++ shared library)', lib);
    assert.ok(exe.quirk + lib.quirk <= (exe.total + lib.total) / 100, 'the BFD quirk stays a rare case');
    // The same addresses again come from the frame cache.
    const before = s.stats();
    compare(s, r.pid, bin.cc, sample(functions(bin.cc)));
    const after2 = s.stats();
    assert.equal(after2.cacheHits - before.cacheHits, exe.total);
    assert.equal(after2.cacheMisses, before.cacheMisses);
    stop(r);
  });

  test('an always_inline function is its own inlined frame, with its line and its caller’s call line; each frame has its declaration line', async () => {
    const r = await start(bin.c, ['spin']);
    const s = new Symbolizer();
    const src = join(sources, 'fixture.c');
    const mixLine = lineOf(src, 'LINE:mix-body');
    const callLine = lineOf(src, 'LINE:burn-calls-mix');
    // DW_AT_decl_line: where each function is defined (pprof Function.start_line).
    const mixDecl = lineOf(src, 'uint64_t mix(uint64_t x) {');
    const burnDecl = lineOf(src, 'uint64_t burn(uint64_t seed) {');
    const burn = functions(bin.c).find((f) => f.name === 'burn');
    assert.ok(burn);
    const all = Array.from({ length: burn.size }, (_, i) => burn.start + i);
    const truth = addr2line(bin.c, all);
    const idx = truth.findIndex(
      (x) => x.names.join() === 'mix,burn' && x.locs[0]?.endsWith(`fixture.c:${mixLine}`) && x.locs[1]?.endsWith(`fixture.c:${callLine}`),
    );
    assert.ok(idx >= 0, 'addr2line finds mix() inlined into burn() at the marked lines');
    const [addr = 0] = toProcess(r.pid, bin.c, [all[idx] ?? 0]);
    const [u] = s.symbolizeUser(r.pid, [addr], undefined, false);
    assert.deepEqual(u?.frames, [
      { name: 'mix', inlined: true, file: src, line: mixLine, startLine: mixDecl },
      { name: 'burn', inlined: false, file: src, line: callLine, startLine: burnDecl },
    ]);
    assert.equal(u?.mapping?.path, realpathSync(bin.c));
    assert.match(u?.mapping?.buildId ?? '', /^[0-9a-f]{40}$/);
    stop(r);
  });

  test('return addresses are looked up one byte earlier (in the call), the leaf at the address itself', async (t) => {
    const r = await start(bin.c, ['spin']);
    const s = new Symbolizer();
    const fns = functions(bin.c);
    const inFunction = (a: number): boolean => fns.some((f) => a >= f.start && a < f.start + f.size);
    // Return addresses: the instruction after every call in our functions.
    const insns = sh('objdump', ['-d', '--no-show-raw-insn', bin.c])
      .split('\n')
      .map((l) => /^\s+([0-9a-f]+):\s+(\S+)/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ addr: parseInt(m[1] ?? '', 16), op: m[2] ?? '' }));
    const rets = insns
      .filter((x, i) => x.op === 'call' && inFunction(x.addr) && inFunction(insns[i + 1]?.addr ?? -1))
      .map((x) => insns[insns.indexOf(x) + 1]?.addr ?? 0);
    assert.ok(rets.length > 5);
    const pairs = rets.flatMap((v) => [v, v]);
    const got = s.symbolizeUser(
      r.pid,
      toProcess(r.pid, bin.c, pairs),
      undefined,
      pairs.map((_, i) => i % 2 === 1),
    );
    const asLeaf = addr2line(bin.c, rets);
    const asReturn = addr2line(
      bin.c,
      rets.map((v) => v - 1),
    );
    let differ = 0;
    for (let k = 0; k < rets.length; k++) {
      const leaf = got[2 * k];
      const ret = got[2 * k + 1];
      assert.ok(leaf && ret);
      assert.deepEqual([leaf.frames.map((f) => f.name), locs(leaf)], [asLeaf[k]?.names, asLeaf[k]?.locs]);
      assert.deepEqual([ret.frames.map((f) => f.name), locs(ret)], [asReturn[k]?.names, asReturn[k]?.locs]);
      if (JSON.stringify(asLeaf[k]) !== JSON.stringify(asReturn[k])) differ++;
    }
    t.diagnostic(`return addresses: ${rets.length} calls, ${differ} of them resolve differently at the return address than in the call`);
    assert.ok(differ > 0, 'the adjustment is observable');
    // Default convention: the first address is the leaf, every other one a return address.
    const [x = 0] = toProcess(r.pid, bin.c, [rets[0] ?? 0]);
    const stack = s.symbolizeUser(r.pid, [x, x]);
    assert.deepEqual(
      stack.map((u) => u.frames),
      [got[0]?.frames, got[1]?.frames],
    );
    stop(r);
  });
});

describe('symbolizer: separate debug information', () => {
  test('a stripped binary with .gnu_debuglink resolves through the debug file (same directory and .debug/)', async (t) => {
    for (const [file, label] of [
      [bin.stripped, 'debug file next to the binary'],
      [bin.strippedDotDebug, 'debug file in .debug/'],
    ] as const) {
      assert.doesNotMatch(sh('readelf', ['-S', file]), /\.symtab|\.debug_info/, `${file} is stripped`);
      const r = await start(file, ['spin']);
      const s = new Symbolizer();
      // Ground truth from the unstripped original: same build, same addresses.
      const a = compare(s, r.pid, file, sample(functions(bin.c)), bin.c);
      report(t, `stripped fixture_c, ${label}`, a);
      assert.equal(s.stats().errors, 0);
      stop(r);
    }
  });

  test('MiniDebugInfo: a binary with only .dynsym and .gnu_debugdata resolves function names', async (t) => {
    const sections = sh('readelf', ['-S', bin.mini]);
    assert.match(sections, /\.gnu_debugdata/);
    assert.doesNotMatch(sections, /\.symtab|\.debug_info/);
    const r = await start(bin.mini, ['spin']);
    const s = new Symbolizer();
    const fns = functions(bin.c).filter((f) => !['_start'].includes(f.name));
    let n = 0;
    for (const f of fns) {
      const vaddrs = sample([f], 5);
      const got = s.symbolizeUser(r.pid, toProcess(r.pid, bin.mini, vaddrs), undefined, false);
      for (const u of got) {
        assert.deepEqual(u.frames, [{ name: f.name, inlined: false }], `${f.name} from the MiniDebugInfo symbol table`);
        n++;
      }
    }
    t.diagnostic(`MiniDebugInfo: ${n}/${n} addresses named by the symbol table in .gnu_debugdata`);
    stop(r);
  });

  test('a system library resolves through /usr/lib/debug/.build-id (libc6-dbg, installed by scripts/install-deps.sh)', async () => {
    const r = await start(bin.c, ['spin']);
    const libc = readFileSync(`/proc/${r.pid}/maps`, 'utf8')
      .split('\n')
      .map((l) => l.split(/\s+/)[5] ?? '')
      .find((p) => /\/libc\.so\.6$/.test(p));
    assert.ok(libc);
    const id = /Build ID: ([0-9a-f]+)/.exec(sh('readelf', ['-n', libc]))?.[1] ?? '';
    assert.ok(existsSync(`/usr/lib/debug/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug`), 'libc6-dbg provides the debug file of libc');
    const s = new Symbolizer();
    const fns = functions(libc, true).filter((f) => ['qsort', 'malloc', 'free', 'strtol', 'fprintf'].includes(f.name));
    const got = s.symbolizeUser(
      r.pid,
      toProcess(
        r.pid,
        libc,
        fns.map((f) => f.start + 1),
        libc,
      ),
      undefined,
      false,
    );
    for (const u of got) {
      const last = u.frames.at(-1);
      assert.ok(last?.file !== undefined && (last.line ?? 0) > 0, `DWARF from the build-id debug file: ${JSON.stringify(u.frames)}`);
    }
    const truth = addr2line(
      libc,
      fns.map((f) => f.start + 1),
    );
    assert.deepEqual(
      got.map((u) => u.frames.map((f) => f.name)),
      truth.map((x) => x.names),
    );
    stop(r);
  });
});

describe('symbolizer: JIT perf maps', () => {
  test('/tmp/perf-<pid>.map names JIT code, grows while the process runs, newest entry wins', async () => {
    const r = await start(bin.c, ['wait']);
    const map = `/tmp/perf-${r.pid}.map`;
    try {
      writeFileSync(map, '10000000 100 LazyCompile:*hot /app/server.js:12\n0x10000100 0x80 Builtin:ArrayMap\n');
      const s = new Symbolizer();
      const got = s.symbolizeUser(r.pid, [0x10000010, 0x10000120, 0x10000200], undefined, false);
      assert.deepEqual(
        got.map((u) => u.frames.map((f) => f.name)),
        [['LazyCompile:*hot /app/server.js:12'], ['Builtin:ArrayMap'], ['[unknown] 0x10000200']],
      );
      appendFileSync(map, '10000200 40 Function:late /app/late.js:1\n10000000 20 LazyCompile:*hot /app/server.js:12 (reoptimized)\n');
      const again = s.symbolizeUser(r.pid, [0x10000210, 0x10000010, 0x10000030], undefined, false);
      assert.deepEqual(
        again.map((u) => u.frames.map((f) => f.name)),
        [['Function:late /app/late.js:1'], ['LazyCompile:*hot /app/server.js:12 (reoptimized)'], ['LazyCompile:*hot /app/server.js:12']],
      );
    } finally {
      rmSync(map, { force: true });
      stop(r);
    }
  });

  test('a process in its own pid and mount namespace: binary and perf map found through /proc/<pid>/root and NSpid', async (t) => {
    // A private tmpfs on /mnt holds the binary, another on /tmp the perf map: neither is visible from here.
    const nsdir = '/mnt';
    const script =
      `mount -t tmpfs none ${nsdir} && cp ${bin.c} ${nsdir}/kiln-fix && mount -t tmpfs none /tmp && ` +
      `printf '10000000 100 jit_in_namespace\\n' > /tmp/perf-1.map && exec ${nsdir}/kiln-fix spin`;
    let r: Running;
    try {
      r = await start('unshare', ['--pid', '--fork', '--kill-child', '--mount', '--propagation', 'private', 'sh', '-c', script]);
    } catch (err) {
      t.skip(`cannot create namespaces here: ${(err as Error).message}`);
      return;
    }
    const pid = Number(readFileSync(`/proc/${r.pid}/task/${r.pid}/children`, 'utf8').trim().split(' ')[0]);
    assert.ok(pid > 0);
    assert.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /^NSpid:\s+\d+\s+1$/m);
    assert.equal(existsSync(`${nsdir}/kiln-fix`), false, 'the binary exists only in the process’s mount namespace');
    const s = new Symbolizer();
    const a = compare(s, pid, bin.c, sample(functions(bin.c), 29), bin.c, `${nsdir}/kiln-fix`);
    report(t, 'fixture_c in a mount namespace', a);
    const [jit] = s.symbolizeUser(pid, [0x10000004], undefined, false);
    assert.deepEqual(jit?.frames, [{ name: 'jit_in_namespace', inlined: false }]);
    process.kill(pid, 'SIGKILL');
    stop(r);
  });
});

describe('symbolizer: the kernel', () => {
  test('kernel addresses from /proc/kallsyms resolve to their names, modules as "name [module]"', (t) => {
    const syms = readFileSync('/proc/kallsyms', 'utf8')
      .split('\n')
      .map((l) => /^([0-9a-f]+) ([tTwW]) (\S+)(?:\t\[(\S+)\])?$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ addr: BigInt(`0x${m[1]}`), name: m[3] ?? '', mod: m[4] ?? '' }));
    if (syms.every((x) => x.addr === 0n)) {
      t.skip('kallsyms addresses are hidden (kptr_restrict)');
      return;
    }
    syms.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
    // BPF programs and ftrace trampolines come and go while other tests run.
    const stable = (mod: string): boolean => mod !== 'bpf' && !mod.startsWith('__builtin__');
    const count = new Map<bigint, number>();
    for (const x of syms) count.set(x.addr, (count.get(x.addr) ?? 0) + 1);
    const picked: { addr: bigint; want: string }[] = [];
    const step = Math.max(1, Math.floor(syms.length / 2000));
    for (let i = 0; i + 1 < syms.length; i += step) {
      const x = syms[i];
      const next = syms[i + 1];
      if (x === undefined || next === undefined || !stable(x.mod) || count.get(x.addr) !== 1 || next.mod !== x.mod) continue;
      if (next.addr - x.addr < 2n || next.addr - x.addr > 0x10000n) continue;
      const want = x.mod === '' ? x.name : `${x.name} [${x.mod}]`;
      picked.push({ addr: x.addr, want }, { addr: x.addr + (next.addr - x.addr) / 2n, want });
    }
    const modules = syms.filter((x) => x.mod !== '' && stable(x.mod) && count.get(x.addr) === 1).slice(0, 20);
    for (const x of modules) picked.push({ addr: x.addr, want: `${x.name} [${x.mod}]` });
    const schedule = syms.find((x) => x.name === 'schedule' && x.mod === '');
    assert.ok(schedule);
    picked.push({ addr: schedule.addr + 4n, want: 'schedule' });

    const s = new Symbolizer();
    const got = s.symbolizeKernel(picked.map((p) => p.addr));
    assert.deepEqual(
      got.map((f) => f.name),
      picked.map((p) => p.want),
    );
    assert.ok(got.every((f) => !f.inlined));
    t.diagnostic(`kernel: ${picked.length}/${picked.length} addresses (${modules.length} in modules) named as /proc/kallsyms says`);
    assert.deepEqual(s.symbolizeKernel([0x10n]), [{ name: '[unknown] 0x10', inlined: false }]);
  });

  test('kallsyms is reloaded when a module address is not found (rate-limited)', () => {
    const root = join(work, 'fakeproc');
    mkdirSync(root, { recursive: true });
    const path = join(root, 'kallsyms');
    writeFileSync(
      path,
      'ffffffff81000000 T _stext\nffffffff81000100 T do_thing\nffffffff81000200 T _etext\nffffffff81000210 d some_data\n',
    );
    const s = new Symbolizer({ procRoot: root });
    assert.deepEqual(
      s.symbolizeKernel([0xffffffff81000104n, 0xffffffffc0000010n]).map((f) => f.name),
      ['do_thing', '[unknown] 0xffffffffc0000010'],
    );
    appendFileSync(path, 'ffffffffc0000000 t mod_fn\t[kiln_mod]\nffffffffc0000100 t mod_fn2\t[kiln_mod]\n');
    let now = 0;
    const k = new Kallsyms(path, { minReloadIntervalMs: 10_000, now: () => now });
    k.load();
    writeFileSync(path, 'ffffffff81000000 T _stext\nffffffffc0000000 t other_fn\t[other_mod]\n');
    assert.equal(k.lookup(0xffffffffc0000010n), 'mod_fn [kiln_mod]', 'a covered address does not reload');
    assert.equal(k.lookup(0xffffffffc1000000n), undefined, 'not covered, but reloaded too recently');
    assert.equal(k.loads, 1);
    now = 10_000;
    assert.equal(k.lookup(0xffffffffc1000000n), undefined);
    assert.equal(k.loads, 2, 'an address not covered reloads the file');
    assert.equal(k.lookup(0xffffffffc0000010n), 'other_fn [other_mod]');
  });
});

describe('symbolizer: failures become [unknown] and are counted', () => {
  test('a pid that does not exist: snapshotProcess returns false, frames are unknown, nothing throws', () => {
    const s = new Symbolizer();
    assert.equal(s.snapshotProcess(2147483647), false);
    assert.deepEqual(s.stats().errorsByKind, { 'process-gone': 1 }, 'a process that is gone is not an unreadable /proc');
    const got = s.symbolizeUser(2147483647, [0x401000, 0x7f0000001234]);
    assert.deepEqual(
      got.map((u) => u.frames),
      [[{ name: '[unknown] 0x401000', inlined: false }], [{ name: '[unknown] 0x7f0000001234', inlined: false }]],
    );
    assert.equal(s.stats().unknownFrames, 2);
  });

  test('a /proc/<pid>/maps that exists but cannot be read is counted as proc-unreadable', () => {
    // A directory where the file should be: the read fails with EISDIR, not ENOENT.
    const proc = mkdtempSync(join(tmpdir(), 'kiln-proc-'));
    try {
      mkdirSync(join(proc, '4242', 'maps'), { recursive: true });
      const s = new Symbolizer({ procRoot: proc });
      assert.equal(s.snapshotProcess(4242), false);
      assert.deepEqual(s.stats().errorsByKind, { 'proc-unreadable': 1 });
      assert.deepEqual(s.symbolizeUser(4242, [0x401000])[0]?.frames, [{ name: '[unknown] 0x401000', inlined: false }]);
    } finally {
      rmSync(proc, { recursive: true, force: true });
    }
  });

  test('samples from before an exec do not cost the process its snapshot after the exec, even once it has exited', async () => {
    // The agent captures a process at the event for its newest generation; a sample taken between
    // fork and exec carries the older one, whose image is gone.
    const r = await start(bin.c, ['wait']);
    const vaddrs = sample(functions(bin.c), 13);
    const addrs = toProcess(r.pid, bin.c, vaddrs);
    const truth = addr2line(bin.c, vaddrs).map((x) => x.names);
    const s = new Symbolizer();
    assert.equal(s.snapshotProcess(r.pid, 1), true);
    stop(r);
    await new Promise((res) => setTimeout(res, 100));
    const before = s.symbolizeUser(r.pid, [0x401000, 0x7f0000001234], 0);
    assert.deepEqual(
      before.map((u) => u.frames[0]?.name),
      ['[unknown] 0x401000', '[unknown] 0x7f0000001234'],
    );
    const after = s.symbolizeUser(r.pid, addrs, 1, false);
    assert.deepEqual(
      after.map((u) => u.frames.map((f) => f.name)),
      truth,
    );
  });

  test('the binary replaced on disk (rename) while the process runs: still the original, through map_files', async (t) => {
    const dir = join(work, 'replace');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'fixture_c');
    copyFileSync(bin.c, file);
    const r = await start(file, ['wait']);
    const vaddrs = sample(functions(bin.c), 13);
    const addrs = toProcess(r.pid, file, vaddrs);
    copyFileSync(bin.cNoPie, `${file}.new`);
    renameSync(`${file}.new`, file);
    const s = new Symbolizer();
    const truth = addr2line(bin.c, vaddrs);
    const got = s.symbolizeUser(r.pid, addrs, undefined, false);
    assert.deepEqual(
      got.map((u) => u.frames.map((f) => f.name)),
      truth.map((x) => x.names),
    );
    t.diagnostic(`replaced binary: ${vaddrs.length}/${vaddrs.length} names from the mapped (deleted) inode`);
    stop(r);
  });

  test('a shared library truncated in place after the snapshot: no crash, unknown frames, error counted', async () => {
    // A running executable cannot be opened for writing (ETXTBSY); a mapped library can.
    const dir = join(work, 'truncate');
    mkdirSync(dir, { recursive: true });
    const exe = join(dir, 'fixture_cc');
    const lib = join(dir, 'libkilnfix.so');
    copyFileSync(bin.cc, exe);
    copyFileSync(bin.lib, lib);
    // `wait` never calls into the library, so the process survives losing its pages.
    const r = await start(exe, ['wait']);
    const vaddrs = sample(functions(bin.lib), 11);
    const addrs = toProcess(r.pid, lib, vaddrs);
    const s = new Symbolizer();
    assert.equal(s.snapshotProcess(r.pid), true);
    const early = s.symbolizeUser(r.pid, addrs.slice(0, 3), undefined, false);
    assert.ok(early.every((u) => !u.frames[0]?.name.startsWith('[unknown]')));

    truncateSync(lib, 4096);
    const got = s.symbolizeUser(r.pid, addrs, undefined, false);
    assert.equal(got.length, addrs.length);
    assert.deepEqual(got.slice(0, 3), early, 'answers cached before the change stay');
    for (const u of got.slice(3)) assert.match(u.frames[0]?.name ?? '', /^\[unknown\] libkilnfix\.so\+0x[0-9a-f]+$/);
    assert.equal(s.stats().errorsByKind['file-changed'], 1);

    // A symbolizer that only ever sees the truncated file.
    const late = new Symbolizer();
    const lateGot = late.symbolizeUser(r.pid, addrs, undefined, false);
    assert.ok(lateGot.every((u) => /^\[unknown\] libkilnfix\.so\+0x/.test(u.frames[0]?.name ?? '')));
    assert.ok((late.stats().errorsByKind['elf-truncated'] ?? 0) >= 1);
    // The executable itself is untouched and still resolves.
    const main = functions(bin.cc).find((f) => f.name === 'main');
    assert.ok(main);
    const [m] = late.symbolizeUser(r.pid, toProcess(r.pid, exe, [main.start]), undefined, false);
    assert.equal(m?.frames.at(-1)?.name, 'main');
    stop(r);
  });

  test('a truncated ELF and a non-ELF file mapped executable: unknown frames, errors counted', async () => {
    const truncated = join(work, 'truncated.elf');
    writeFileSync(truncated, readFileSync(bin.c).subarray(0, 6000));
    const junk = join(work, 'junk.bin');
    writeFileSync(junk, Buffer.alloc(8192, 0x5a));
    for (const [file, kind] of [
      [truncated, 'elf-truncated'],
      [junk, 'elf-invalid'],
    ] as const) {
      const r = await start(bin.c, ['map', file]);
      const base = parseInt(r.line.split(' ')[1] ?? '', 16);
      const s = new Symbolizer();
      const got = s.symbolizeUser(r.pid, [base + 0x1234, base + 0x10], undefined, false);
      const name = file.split('/').pop() ?? '';
      assert.deepEqual(
        got.map((u) => u.frames.map((f) => f.name)),
        [[`[unknown] ${name}+0x1234`], [`[unknown] ${name}+0x10`]],
      );
      assert.ok((s.stats().errorsByKind[kind] ?? 0) >= 1, `${kind} counted: ${JSON.stringify(s.stats().errorsByKind)}`);
      stop(r);
    }
  });

  test('a tiny cache evicts (releasing native handles) and re-opens what a live process still maps', async () => {
    const r = await start(bin.cc, ['spin']);
    const s = new Symbolizer({ maxCacheBytes: 1 });
    for (let round = 0; round < 3; round++) {
      // New addresses each round: the frame cache cannot answer, the evicted ELF state is reopened.
      const exeV = sample(functions(bin.cc), 101, round * 3);
      const libV = sample(functions(bin.lib), 101, round * 3);
      const exeTruth = addr2line(bin.cc, exeV);
      const libTruth = addr2line(bin.lib, libV);
      const exe = s.symbolizeUser(r.pid, toProcess(r.pid, bin.cc, exeV), undefined, false);
      const lib = s.symbolizeUser(r.pid, toProcess(r.pid, bin.lib, libV), undefined, false);
      const both = s.symbolizeUser(r.pid, toProcess(r.pid, bin.cc, exeV).concat(toProcess(r.pid, bin.lib, libV)), undefined, false);
      const agrees = (u: UserFrames, t: Truth | undefined): boolean => {
        const names = u.frames.map((f) => f.name);
        return t !== undefined && (JSON.stringify(names) === JSON.stringify(t.names) || bfdInlinedSymbolQuirk(names, t.names));
      };
      assert.equal(exe.filter((u, i) => agrees(u, exeTruth[i])).length, exeV.length);
      assert.equal(lib.filter((u, i) => agrees(u, libTruth[i])).length, libV.length);
      assert.deepEqual(both, [...exe, ...lib]);
      assert.equal(s.stats().elfFiles, 0, 'over the bound, nothing stays open once a call returns');
    }
    assert.equal(s.stats().errors, 0);
    // With room, the files stay open and the memory their lookups set up is counted.
    const roomy = new Symbolizer({ maxCacheBytes: 256 * 1024 * 1024 });
    roomy.symbolizeUser(
      r.pid,
      toProcess(r.pid, bin.cc, sample(functions(bin.cc), 50, 0)).concat(toProcess(r.pid, bin.lib, sample(functions(bin.lib), 50, 0))),
      undefined,
      false,
    );
    const { elfFiles, elfBytes } = roomy.stats();
    assert.ok(elfFiles >= 2, `${elfFiles} files open`);
    assert.ok(elfBytes > 2 * 16 * 1024, `setup memory measured: ${elfBytes} bytes`);
    stop(r);
  });
});
