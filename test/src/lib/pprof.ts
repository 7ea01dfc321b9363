// Reading pprof files in tests: decode with pprof-format (integers normalised at
// this boundary: addresses stay bigint, everything else becomes number), walk
// stacks with inline frames expanded, compute per-function shares, and read
// the same file with the outside tool users reach for, `go tool pprof`.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';

const execFileP = promisify(execFile);

type Numeric = number | bigint;
const num = (v: Numeric | undefined): number => (v === undefined ? 0 : Number(v));
const big = (v: Numeric | undefined): bigint => (v === undefined ? 0n : BigInt(v));

/** The mapping file name the agent uses for kernel frames. */
export const KERNEL_MAPPING = '[kernel.kallsyms]';
/** How the agent names a frame it could not resolve: `[unknown] <binary>+0x<offset>`. */
export const UNKNOWN_FRAME = /^\[unknown\] \S.*\+0x[0-9a-f]+$/;
/** The fallback when not even the mapping of an address is known: `[unknown] 0x<address>`. */
export const UNKNOWN_ADDRESS = /^\[unknown\] 0x[0-9a-f]+$/;

export interface PMapping {
  id: number;
  start: bigint;
  limit: bigint;
  offset: bigint;
  file: string;
  buildId: string;
  hasFunctions: boolean;
  hasInlineFrames: boolean;
}

export interface PFunction {
  id: number;
  name: string;
  systemName: string;
  file: string;
  startLine: number;
}

/** One Line of a Location: the function and source line, innermost first within the location. */
export interface PLine {
  fn: PFunction | undefined;
  name: string;
  file: string;
  line: number;
}

export interface PLocation {
  id: number;
  address: bigint;
  mapping: PMapping | undefined;
  lines: PLine[];
}

export interface PSample {
  /** Leaf first (pprof order). */
  locations: PLocation[];
  values: number[];
  labels: Record<string, string>;
  numLabels: Record<string, number>;
}

export interface DecodedProfile {
  sampleTypes: { type: string; unit: string }[];
  periodType: { type: string; unit: string } | undefined;
  period: number;
  timeNanos: number;
  durationNanos: number;
  defaultSampleType: string;
  mappings: Map<number, PMapping>;
  functions: Map<number, PFunction>;
  locations: Map<number, PLocation>;
  samples: PSample[];
}

/** One frame of a stack with inline frames expanded (pprof order: leaf first). */
export interface Frame {
  name: string;
  file: string;
  line: number;
  location: PLocation;
  /** True when this line is inlined into the next frame of the same location. */
  inlined: boolean;
  kernel: boolean;
}

/** Decodes a pprof (gzipped or not) into plain, normalised objects. */
export function decodePprof(bytes: Uint8Array): DecodedProfile {
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  const p = Profile.decode(raw);
  const str = (i: Numeric | undefined): string => p.stringTable.strings[num(i)] ?? '';

  const mappings = new Map<number, PMapping>();
  for (const m of p.mapping) {
    mappings.set(num(m.id), {
      id: num(m.id),
      start: big(m.memoryStart),
      limit: big(m.memoryLimit),
      offset: big(m.fileOffset),
      file: str(m.filename),
      buildId: str(m.buildId),
      hasFunctions: m.hasFunctions,
      hasInlineFrames: m.hasInlineFrames,
    });
  }
  const functions = new Map<number, PFunction>();
  for (const f of p.function) {
    functions.set(num(f.id), {
      id: num(f.id),
      name: str(f.name),
      systemName: str(f.systemName),
      file: str(f.filename),
      startLine: num(f.startLine),
    });
  }
  const locations = new Map<number, PLocation>();
  for (const l of p.location) {
    const lines: PLine[] = l.line.map((ln) => {
      const fn = functions.get(num(ln.functionId));
      return { fn, name: fn?.name ?? '', file: fn?.file ?? '', line: num(ln.line) };
    });
    locations.set(num(l.id), { id: num(l.id), address: big(l.address), mapping: mappings.get(num(l.mappingId)), lines });
  }
  const samples: PSample[] = p.sample.map((s) => {
    const labels: Record<string, string> = {};
    const numLabels: Record<string, number> = {};
    for (const lb of s.label) {
      if (num(lb.str) !== 0) labels[str(lb.key)] = str(lb.str);
      else numLabels[str(lb.key)] = num(lb.num);
    }
    const locs = s.locationId.map((id) => {
      const loc = locations.get(num(id));
      if (!loc) throw new Error(`sample refers to missing location ${id}`);
      return loc;
    });
    return { locations: locs, values: s.value.map(num), labels, numLabels };
  });
  return {
    sampleTypes: p.sampleType.map((t) => ({ type: str(t.type), unit: str(t.unit) })),
    periodType: p.periodType ? { type: str(p.periodType.type), unit: str(p.periodType.unit) } : undefined,
    period: num(p.period),
    timeNanos: num(p.timeNanos),
    durationNanos: num(p.durationNanos),
    defaultSampleType: str(p.defaultSampleType),
    mappings,
    functions,
    locations,
    samples,
  };
}

export async function readPprof(file: string): Promise<DecodedProfile> {
  return decodePprof(await readFile(file));
}

export function isKernel(loc: PLocation): boolean {
  return loc.mapping?.file === KERNEL_MAPPING;
}

/** The frames of a sample, leaf first, with each location's inline lines expanded (innermost first). */
export function frames(sample: PSample): Frame[] {
  const out: Frame[] = [];
  for (const location of sample.locations) {
    const kernel = isKernel(location);
    location.lines.forEach((l, i) => {
      out.push({ name: l.name, file: l.file, line: l.line, location, inlined: i < location.lines.length - 1, kernel });
    });
  }
  return out;
}

/** Index of a sample type by its `type` name (e.g. 'cpu', 'samples'). */
export function valueIndex(profile: DecodedProfile, type: string): number {
  const i = profile.sampleTypes.findIndex((t) => t.type === type);
  if (i < 0) throw new Error(`no sample type ${type} in [${profile.sampleTypes.map((t) => t.type).join(', ')}]`);
  return i;
}

export interface Share {
  flat: number;
  cum: number;
  /** flat and cum as fractions of the total of the selected samples. */
  flatShare: number;
  cumShare: number;
}

/**
 * Per-function flat (leaf-most line) and cum (anywhere in the stack, counted once
 * per sample) totals over the samples that `filter` keeps, keyed by function name.
 */
export function functionShares(
  profile: DecodedProfile,
  opts: { type?: string; filter?: (s: PSample) => boolean } = {},
): { total: number; byName: Map<string, Share> } {
  const vi = valueIndex(profile, opts.type ?? 'cpu');
  const byName = new Map<string, Share>();
  let total = 0;
  const get = (name: string): Share => {
    let s = byName.get(name);
    if (!s) byName.set(name, (s = { flat: 0, cum: 0, flatShare: 0, cumShare: 0 }));
    return s;
  };
  for (const sample of profile.samples) {
    if (opts.filter && !opts.filter(sample)) continue;
    const v = sample.values[vi] ?? 0;
    total += v;
    const fr = frames(sample);
    if (fr[0]) get(fr[0].name).flat += v;
    for (const name of new Set(fr.map((f) => f.name))) get(name).cum += v;
  }
  for (const s of byName.values()) {
    s.flatShare = total > 0 ? s.flat / total : 0;
    s.cumShare = total > 0 ? s.cum / total : 0;
  }
  return { total, byName };
}

/** Samples whose `pid` label is one of `pids`. */
export function byPid(...pids: number[]): (s: PSample) => boolean {
  const set = new Set(pids.map(String));
  return (s) => set.has(s.labels.pid ?? '');
}

/** All function names (every inline line) that occur in the selected samples. */
export function functionNames(profile: DecodedProfile, filter?: (s: PSample) => boolean): Set<string> {
  const names = new Set<string>();
  for (const s of profile.samples) {
    if (filter && !filter(s)) continue;
    for (const f of frames(s)) names.add(f.name);
  }
  return names;
}

// ---- go tool pprof -------------------------------------------------------

export interface TopRow {
  /** Values in the report's unit converted to nanoseconds for time units, raw otherwise. */
  flat: number;
  flatPct: number;
  sumPct: number;
  cum: number;
  cumPct: number;
  name: string;
  /** pprof marks inlined functions with " (inline)". */
  inline: boolean;
}

export interface TopReport {
  header: string[];
  rows: TopRow[];
  raw: string;
}

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  ms: 1e6,
  s: 1e9,
  min: 60e9,
  mins: 60e9,
  hr: 3600e9,
  hrs: 3600e9,
  day: 86400e9,
  days: 86400e9,
};

/** Parses a `go tool pprof -top` value such as `4.50s`, `120ms`, `1.20mins` or `837`; time units become nanoseconds. */
export function parsePprofValue(text: string): number {
  const m = /^(-?[0-9.]+(?:e[+-]?\d+)?)([a-zµ]*)$/i.exec(text.trim());
  if (!m) throw new Error(`cannot parse pprof value "${text}"`);
  const n = Number(m[1]);
  const factor = UNIT_NS[m[2] ?? ''];
  return factor === undefined ? n : n * factor;
}

/** Parses the text of `go tool pprof -top`. */
export function parsePprofTop(text: string): TopReport {
  const lines = text.split('\n');
  const headerEnd = lines.findIndex((l) => /^\s*flat\s+flat%\s+sum%\s+cum\s+cum%/.test(l));
  if (headerEnd < 0) throw new Error(`not a pprof -top report:\n${text.slice(0, 2000)}`);
  const rows: TopRow[] = [];
  for (const l of lines.slice(headerEnd + 1)) {
    const m = /^\s*(\S+)\s+(-?[0-9.]+)%\s+(-?[0-9.]+)%\s+(\S+)\s+(-?[0-9.]+)%\s+(.*)$/.exec(l);
    if (!m) continue;
    let name = m[6]!.trimEnd();
    const inline = name.endsWith(' (inline)');
    if (inline) name = name.slice(0, -' (inline)'.length);
    rows.push({
      flat: parsePprofValue(m[1]!),
      flatPct: Number(m[2]),
      sumPct: Number(m[3]),
      cum: parsePprofValue(m[4]!),
      cumPct: Number(m[5]),
      name,
      inline,
    });
  }
  return { header: lines.slice(0, headerEnd), rows, raw: text };
}

/**
 * Runs `go tool pprof -top` on a file. `-symbolize=none` so that pprof shows the
 * agent's names and never re-symbolizes with local binaries; extra flags
 * (e.g. `-sample_index=cpu`, `-tagfocus=pid=123`, `-show_from=...`) go in `args`.
 */
export async function goPprofTop(file: string, args: string[] = []): Promise<TopReport> {
  const { stdout } = await execFileP(
    'go',
    ['tool', 'pprof', '-top', '-nodecount=200', '-nodefraction=0', '-edgefraction=0', '-symbolize=none', ...args, file],
    {
      maxBuffer: 64 << 20,
      env: { ...process.env, PPROF_TMPDIR: process.env.PPROF_TMPDIR ?? '/tmp' },
    },
  );
  return parsePprofTop(stdout);
}

/** Runs `go tool pprof -traces` (one block per distinct stack), returned as text. */
export async function goPprofTraces(file: string, args: string[] = []): Promise<string> {
  const { stdout } = await execFileP('go', ['tool', 'pprof', '-traces', '-symbolize=none', ...args, file], { maxBuffer: 256 << 20 });
  return stdout;
}

/** Finds a row by exact name, or by a predicate. */
export function topRow(report: TopReport, match: string | ((name: string) => boolean)): TopRow | undefined {
  const pred = typeof match === 'string' ? (n: string) => n === match : match;
  return report.rows.find((r) => pred(r.name));
}

// ---- symbol ground truth (addr2line) --------------------------------------

export interface LoadSegment {
  offset: bigint;
  vaddr: bigint;
  filesz: bigint;
  memsz: bigint;
  flags: string;
}

/** PT_LOAD program headers of an ELF file, from `readelf -lW`. */
export async function loadSegments(elf: string): Promise<LoadSegment[]> {
  const { stdout } = await execFileP('readelf', ['-lW', elf]);
  const segs: LoadSegment[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^\s*LOAD\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(.+?)\s+0x[0-9a-f]+\s*$/i.exec(
      line,
    );
    if (m) segs.push({ offset: BigInt(m[1]!), vaddr: BigInt(m[2]!), filesz: BigInt(m[3]!), memsz: BigInt(m[4]!), flags: m[5]!.trim() });
  }
  if (segs.length === 0) throw new Error(`no PT_LOAD segments in ${elf}`);
  return segs;
}

/**
 * Runtime address → ELF virtual address: first the file offset
 * (address − mapping start + mapping offset), then the PT_LOAD segment that holds
 * that offset (vaddr = offset − p_offset + p_vaddr).
 */
export function fileAddress(address: bigint, mapping: PMapping, segs: LoadSegment[]): bigint {
  const fileOffset = address - mapping.start + mapping.offset;
  const seg = segs.find((s) => fileOffset >= s.offset && fileOffset < s.offset + s.filesz);
  if (!seg)
    throw new Error(
      `address 0x${address.toString(16)} (file offset 0x${fileOffset.toString(16)}) is in no PT_LOAD segment of ${mapping.file}`,
    );
  return fileOffset - seg.offset + seg.vaddr;
}

export type FrameRole = 'leaf' | 'caller';

/**
 * The address the agent looks up for a location in a given role. The lead's
 * convention: a location keeps the raw address (the sampled PC for the leaf, the
 * return address for callers) and the symbolizer looks up address − 1 for callers
 * so that a call at the end of an inline range is attributed to the right line.
 * Adjust here if the convention changes.
 */
export function lookupAddress(address: bigint, role: FrameRole): bigint {
  return role === 'caller' ? address - 1n : address;
}

export interface GroundTruthFrame {
  name: string;
  file: string;
  line: number;
}

/**
 * `addr2line -a -f -C -i -e BIN ADDR...`: for each address, its inline chain
 * innermost first (addr2line's order, the same as pprof's Line order).
 */
export async function addr2line(bin: string, addrs: bigint[]): Promise<GroundTruthFrame[][]> {
  const out: GroundTruthFrame[][] = [];
  for (let i = 0; i < addrs.length; i += 500) {
    const chunk = addrs.slice(i, i + 500);
    const { stdout } = await execFileP('addr2line', ['-a', '-f', '-C', '-i', '-e', bin, ...chunk.map((a) => '0x' + a.toString(16))], {
      maxBuffer: 64 << 20,
    });
    const lines = stdout.split('\n');
    let cur: GroundTruthFrame[] | undefined;
    for (let j = 0; j < lines.length; j++) {
      const l = lines[j]!;
      if (/^0x[0-9a-f]+$/.test(l)) {
        cur = [];
        out.push(cur);
        continue;
      }
      if (l === '' || !cur) continue;
      const where = lines[++j] ?? '';
      const m = /^(.*):(\d+|\?)(?: \(discriminator \d+\))?$/.exec(where);
      cur.push({ name: l, file: m ? m[1]! : where, line: m && m[2] !== '?' ? Number(m[2]) : 0 });
    }
  }
  if (out.length !== addrs.length) throw new Error(`addr2line answered ${out.length} addresses for ${addrs.length}`);
  return out;
}

/** `llvm-symbolizer --obj BIN` for the same addresses, same shape as addr2line(). */
export async function llvmSymbolizer(bin: string, addrs: bigint[]): Promise<GroundTruthFrame[][]> {
  const { stdout } = await execFileP(
    'llvm-symbolizer',
    ['--obj', bin, '--functions=linkage', '--demangle', '--inlines', ...addrs.map((a) => '0x' + a.toString(16))],
    {
      maxBuffer: 64 << 20,
    },
  );
  // One block per address, blocks separated by an empty line; pairs of (name, file:line:col).
  const blocks = stdout.replace(/\n+$/, '').split(/\n\n/);
  return blocks.map((b) => {
    const ls = b.split('\n');
    const chain: GroundTruthFrame[] = [];
    for (let j = 0; j + 1 < ls.length; j += 2) {
      const m = /^(.*):(\d+):\d+$/.exec(ls[j + 1]!);
      chain.push({ name: ls[j]!, file: m ? m[1]! : ls[j + 1]!, line: m ? Number(m[2]) : 0 });
    }
    return chain;
  });
}

/** Whether our name for a frame is the ground truth's. Whitespace-insensitive; otherwise exact. */
export function sameSymbol(ours: string, truth: string): boolean {
  const norm = (s: string) =>
    s
      .replace(/\s+/g, ' ')
      .replace(/ ?([<>(),&*]) ?/g, '$1')
      .trim();
  return norm(ours) === norm(truth);
}

export interface SymbolCheck {
  /** (location, role) pairs compared. */
  checked: number;
  agreed: number;
  /** Locations named `[unknown] ...` (only counted apart when `allowUnknown`). */
  unknown: number;
  mismatches: string[];
}

export interface SymbolCheckOptions {
  /** Which mappings hold `bin`'s code; default: file name equal to `bin` or ending with it (e.g. `/proc/N/root/...`). */
  mapping?: (file: string) => boolean;
  /** Count `[unknown] <binary>+0x<offset>` locations apart instead of as mismatches. */
  allowUnknown?: boolean;
  /** Only the samples this keeps. */
  filter?: (s: PSample) => boolean;
}

/**
 * For every distinct location of `profile` mapped from `bin`, compares our inline
 * chain of function names with addr2line's (batch first; where that disagrees,
 * addr2line on the single address, then llvm-symbolizer). A location's role is leaf when it is the first user-space
 * location of some sample (the sampled PC), caller otherwise (a return address);
 * a location used in both roles is checked in both (see lookupAddress).
 */
export async function checkSymbols(profile: DecodedProfile, bin: string, opts: SymbolCheckOptions = {}): Promise<SymbolCheck> {
  const isBin = opts.mapping ?? ((file: string) => file === bin || file.endsWith(bin));
  const roles = new Map<PLocation, Set<FrameRole>>();
  for (const s of profile.samples) {
    if (opts.filter && !opts.filter(s)) continue;
    const firstUser = s.locations.findIndex((l) => !isKernel(l));
    s.locations.forEach((loc, i) => {
      if (!loc.mapping || !isBin(loc.mapping.file)) return;
      let r = roles.get(loc);
      if (!r) roles.set(loc, (r = new Set()));
      r.add(i === firstUser ? 'leaf' : 'caller');
    });
  }
  const result: SymbolCheck = { checked: 0, agreed: 0, unknown: 0, mismatches: [] };
  const segs = await loadSegments(bin);
  const queries: { loc: PLocation; role: FrameRole; addr: bigint }[] = [];
  for (const [loc, rs] of roles) {
    for (const role of rs) {
      if (opts.allowUnknown && loc.lines.length === 1 && loc.lines[0]!.name.startsWith('[unknown]')) {
        result.checked++;
        result.unknown++;
        continue;
      }
      queries.push({ loc, role, addr: lookupAddress(fileAddress(loc.address, loc.mapping!, segs), role) });
    }
  }
  const truth = await addr2line(
    bin,
    queries.map((q) => q.addr),
  );
  const disagreeing: number[] = [];
  const chainEq = (ours: PLine[], t: GroundTruthFrame[]) =>
    ours.length === t.length && ours.every((l, i) => sameSymbol(l.name, t[i]!.name));
  queries.forEach((q, i) => {
    result.checked++;
    if (chainEq(q.loc.lines, truth[i]!)) result.agreed++;
    else disagreeing.push(i);
  });
  if (disagreeing.length > 0) {
    // binutils 2.40's addr2line keeps state between the addresses of one run: after an
    // address in a `.cold` part it names later addresses of the hot part `main.cold`
    // too. Ask it again, one process per address, before calling it a mismatch.
    const single = await Promise.all(disagreeing.map(async (i) => (await addr2line(bin, [queries[i]!.addr]))[0]!));
    const llvm = await llvmSymbolizer(
      bin,
      disagreeing.map((i) => queries[i]!.addr),
    );
    disagreeing.forEach((qi, k) => {
      const q = queries[qi]!;
      if (chainEq(q.loc.lines, single[k]!) || (llvm[k] && chainEq(q.loc.lines, llvm[k]))) {
        result.agreed++;
        return;
      }
      result.mismatches.push(
        `0x${q.loc.address.toString(16)} (${q.role}, looked up 0x${q.addr.toString(16)} in ${bin}): ours [${q.loc.lines.map((l) => l.name).join(' ← ')}]` +
          ` addr2line [${single[k]!.map((t) => t.name).join(' ← ')}] llvm-symbolizer [${(llvm[k] ?? []).map((t) => t.name).join(' ← ')}]`,
      );
    });
  }
  return result;
}

/** The GNU build-id of an ELF file (hex), from `readelf -n`. */
export async function buildId(elf: string): Promise<string> {
  const { stdout } = await execFileP('readelf', ['-n', elf]);
  const m = /Build ID: ([0-9a-f]+)/.exec(stdout);
  if (!m) throw new Error(`${elf} has no GNU build-id note`);
  return m[1]!;
}
