// What a profile says about the process a sample came from: read once, when the process is
// first seen or execs, so it is still known after the process exits.
import { readFileSync, readlinkSync } from 'node:fs';
import { symbolizerNative } from '@kiln/symbolizer';
import { containerOfCgroup } from './container-id.js';

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

/** What the kernel's process event says (bpf/profile.h): the name that outlives the process. */
export interface KernelIdentity {
  comm: string;
  kernelThread: boolean;
}

export interface NamingInputs {
  /** The process's comm ('' when neither /proc nor the kernel told it). */
  comm: string;
  /** The /proc/<pid>/exe link as read, " (deleted)" included; '' for none. */
  exe: string;
  kernelThread: boolean;
  /** OTEL_SERVICE_NAME or service.name from the environment. */
  otelName: string | undefined;
}

/** The kernel's TASK_COMM_LEN less the NUL: a comm this long may have been cut. */
const COMM_MAX_BYTES = 15;

/**
 * The service a process is labelled with: a program's name, never a process's, so the services
 * (and the label index) grow with the programs a fleet runs, not with the processes it starts.
 */
export function serviceName({ comm, exe, kernelThread, otelName }: NamingInputs): string {
  // Every kernel thread is the kernel's work, and their names carry per-CPU or per-device parts
  // (kworker/0:2-events): one service, the thread's name stays in the comm label.
  if (kernelThread) return 'kernel';
  if (otelName !== undefined) return otelName;
  const file = executableFileName(exe);
  if (file !== undefined && Buffer.byteLength(comm) === COMM_MAX_BYTES && file.startsWith(comm)) return file;
  // A program run from a memfd is named by whoever created the memfd; a trailing number there
  // (a counter, a pid) would make a service per process.
  if (comm.startsWith('memfd:')) return comm.replace(/-\d+$/, '');
  return comm === '' ? 'unknown' : comm;
}

/** The file name of an executable that is a file; undefined for a memfd, a deleted file or an anonymous mapping, which name no program. */
function executableFileName(exe: string): string | undefined {
  if (!exe.startsWith('/') || exe.endsWith(' (deleted)')) return undefined;
  const name = exe.slice(exe.lastIndexOf('/') + 1);
  return name.startsWith('memfd:') ? undefined : name;
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

/** The id of the container a process runs in, from its /proc/<pid>/cgroup; '' for none. */
export function containerIdFromCgroup(cgroup: string): string {
  return containerOfCgroup(cgroup)?.id ?? '';
}

const PF_KTHREAD = 0x00200000; // include/linux/sched.h

/** Whether /proc/<pid>/stat's flags (its 9th field, counted past the comm, which may hold spaces) say kernel thread. */
export function isKernelThread(stat: string): boolean {
  const flags = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[6]);
  return Number.isInteger(flags) && (flags & PF_KTHREAD) !== 0;
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
 * `kernel` is what the kernel's event said, when there was one: the name of a process that
 * exited before /proc was read. `knownBuildId(exe)` may supply the executable's build-id from
 * state that already has it (the symbolizer's snapshot); when it returns undefined the file is
 * opened here.
 */
export function readProcessInfo(
  pid: number,
  generation: number,
  kernel: KernelIdentity | undefined,
  procRoot = '/proc',
  knownBuildId?: (exe: string) => string | undefined,
): ProcessInfo {
  const dir = `${procRoot}/${pid}`;
  const procComm = read(`${dir}/comm`)?.trim();
  let link = '';
  try {
    link = readlinkSync(`${dir}/exe`);
  } catch {
    // kernel threads have no exe; vanished processes have nothing
  }
  const exe = link.replace(/ \(deleted\)$/, '');
  const otel = otelResource(read(`${dir}/environ`) ?? '');
  const containerId = containerIdFromCgroup(read(`${dir}/cgroup`) ?? '');
  const comm = procComm ?? kernel?.comm ?? '';
  const kernelThread = kernel?.kernelThread ?? isKernelThread(read(`${dir}/stat`) ?? '');
  let version = otel.version;
  if (version === undefined && exe !== '') {
    const id = knownBuildId?.(exe) ?? buildIdOf(`${dir}/exe`);
    version = id === '' ? undefined : `build-${id.slice(0, 12)}`;
  }
  return {
    pid,
    generation,
    comm,
    exe,
    service: serviceName({ comm, exe: link, kernelThread, otelName: otel.name }),
    version: version ?? 'unknown',
    containerId,
    unreadable: procComm === undefined,
  };
}

/**
 * A process that exited before /proc was read has no executable to take a build-id from: it gets
 * the version last seen for its service, so a short-lived run of a program joins that program's
 * version instead of making an `unknown` one beside it. Bounded: the oldest services go first.
 */
export class ServiceVersions {
  readonly #last = new Map<string, string>();
  constructor(readonly max = 4096) {}

  fill(info: ProcessInfo): void {
    if (info.version !== 'unknown') {
      this.#last.delete(info.service);
      this.#last.set(info.service, info.version);
      if (this.#last.size > this.max) this.#last.delete(this.#last.keys().next().value!);
    } else if (info.unreadable) {
      info.version = this.#last.get(info.service) ?? 'unknown';
    }
  }
}
