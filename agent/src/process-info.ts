// What a profile says about the process a sample came from: read once, when the process is
// first seen or execs, so it is still known after the process exits.
import { readFileSync, readlinkSync } from 'node:fs';
import { symbolizerNative } from '@kiln/symbolizer';

export interface ProcessInfo {
  pid: number;
  generation: number;
  comm: string;
  exe: string;
  service: string;
  version: string;
  containerId: string;
  /** True when /proc/<pid> could not be read (the process was gone or is hidden). */
  unreadable: boolean;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (`service.name`, `service.version`) of an environment. */
export function otelResource(environ: string): { name?: string; version?: string } {
  const env = new Map<string, string>();
  for (const entry of environ.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  const attrs = new Map<string, string>();
  for (const pair of (env.get('OTEL_RESOURCE_ATTRIBUTES') ?? '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq > 0) attrs.set(decodeURIComponent(pair.slice(0, eq).trim()), decodeURIComponent(pair.slice(eq + 1).trim()));
  }
  const name = env.get('OTEL_SERVICE_NAME') || attrs.get('service.name') || undefined;
  const version = attrs.get('service.version') || undefined;
  return { name, version };
}

/** A container id (64 hex) from /proc/<pid>/cgroup, as docker, containerd and CRI-O name their cgroups. */
export function containerIdFromCgroup(cgroup: string): string {
  const m = /(?:^|[/-])([0-9a-f]{64})(?:\.scope)?$/m.exec(cgroup.split('\n').map((l) => l.split(':').pop() ?? '').join('\n'));
  return m?.[1] ?? '';
}

/** The GNU build-id of an ELF file as hex, or '' when it has none or cannot be read. */
function buildIdOf(path: string): string {
  try {
    const elf = new (symbolizerNative().ElfFile)(path);
    try {
      return elf.info().buildId;
    } finally {
      elf.close();
    }
  } catch {
    return '';
  }
}

/**
 * `knownBuildId(exe)` may supply the executable's build-id from state that already has it (the
 * symbolizer's snapshot); when it returns undefined the file is opened here.
 */
export function readProcessInfo(
  pid: number,
  generation: number,
  procRoot = '/proc',
  knownBuildId?: (exe: string) => string | undefined,
): ProcessInfo {
  const dir = `${procRoot}/${pid}`;
  const comm = read(`${dir}/comm`)?.trim();
  let exe = '';
  try {
    exe = readlinkSync(`${dir}/exe`).replace(/ \(deleted\)$/, '');
  } catch {
    // kernel threads have no exe; vanished processes have nothing
  }
  const otel = otelResource(read(`${dir}/environ`) ?? '');
  const containerId = containerIdFromCgroup(read(`${dir}/cgroup`) ?? '');
  const name = comm ?? `pid-${pid}`;
  let version = otel.version;
  if (version === undefined && exe !== '') {
    const id = knownBuildId?.(exe) ?? buildIdOf(`${dir}/exe`);
    version = id === '' ? undefined : `build-${id.slice(0, 12)}`;
  }
  return {
    pid,
    generation,
    comm: name,
    exe,
    service: otel.name ?? name,
    version: version ?? 'unknown',
    containerId,
    unreadable: comm === undefined,
  };
}
