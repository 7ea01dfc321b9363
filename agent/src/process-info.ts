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

/** The value of `name` in a NUL-separated environment block, or undefined. */
function envValue(environ: string, name: string): string | undefined {
  const key = `${name}=`;
  // The first definition, as getenv() returns it.
  for (let at = environ.indexOf(key); at !== -1; at = environ.indexOf(key, at + 1)) {
    if (at === 0 || environ.charCodeAt(at - 1) === 0) {
      const end = environ.indexOf('\0', at);
      return environ.slice(at + key.length, end === -1 ? environ.length : end);
    }
  }
  return undefined;
}

/** OTEL_RESOURCE_ATTRIBUTES values are percent-encoded; a malformed one is taken as written. */
function percentDecoded(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (`service.name`, `service.version`) of an
 * environment. Looked up, not parsed whole: a process's environment is often kilobytes.
 */
export function otelResource(environ: string): { name?: string; version?: string } {
  const attrs = new Map<string, string>();
  for (const pair of (envValue(environ, 'OTEL_RESOURCE_ATTRIBUTES') ?? '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq > 0) attrs.set(percentDecoded(pair.slice(0, eq).trim()), percentDecoded(pair.slice(eq + 1).trim()));
  }
  const name = envValue(environ, 'OTEL_SERVICE_NAME') || attrs.get('service.name') || undefined;
  const version = attrs.get('service.version') || undefined;
  return { name, version };
}

/** A container id (64 hex) from /proc/<pid>/cgroup, as docker, containerd and CRI-O name their cgroups. */
export function containerIdFromCgroup(cgroup: string): string {
  const m = /(?:^|[/-])([0-9a-f]{64})(?:\.scope)?$/m.exec(
    cgroup
      .split('\n')
      .map((l) => l.split(':').pop() ?? '')
      .join('\n'),
  );
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
