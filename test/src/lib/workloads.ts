// Ground-truth workloads (test/workloads/): build them and run them as child processes.
// Every workload prints its own pid on its first stdout line; that pid (not the
// spawned one, which may be a wrapper such as `unshare` or a shell) is the one
// to profile.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './kiln.js';

export const workloadsDir = join(repoRoot, 'test/workloads');
export const workloadsBin = join(workloadsDir, 'bin');

/** Absolute path of a built workload (`cpu_ratio`, `cpp_workload`, ...). */
export function workloadPath(name: string): string {
  return join(workloadsBin, name);
}

/** `make -C test/workloads` (incremental; quick when nothing changed). */
export function buildWorkloads(): void {
  execFileSync('make', ['-s', '-C', workloadsDir], { stdio: ['ignore', 'inherit', 'inherit'] });
}

export interface Workload {
  /** The pid the workload printed: the process to profile. */
  pid: number;
  proc: ChildProcess;
  /** stdout + stderr so far. */
  output(): string;
  /** Resolves with the exit code or signal name of the spawned process. */
  exited: Promise<number | string>;
  /** SIGKILLs the workload (its printed pid and the spawned process) and waits for the exit. */
  stop(): Promise<number | string>;
}

export interface StartOptions {
  /** Run this argv instead of `bin/<name> ...args` (e.g. node with flags, or unshare). */
  command?: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the pid line (ms). */
  timeoutMs?: number;
  /** Run under `nice -n N` (e.g. so that side workloads leave the CPU to the one being measured). */
  nice?: number;
}

/**
 * Starts `bin/<name> ...args` (or `opts.command`) and resolves once the workload
 * printed its pid.
 */
export async function startWorkload(name: string, args: string[] = [], opts: StartOptions = {}): Promise<Workload> {
  const base = opts.command ?? [workloadPath(name), ...args];
  const argv = opts.nice === undefined ? base : ['nice', '-n', String(opts.nice), ...base];
  const proc = spawn(argv[0]!, argv.slice(1), {
    cwd: opts.cwd ?? workloadsDir,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((res) => proc.on('exit', (code, signal) => res(code ?? signal ?? -1)));
  const pid = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} printed no pid within ${opts.timeoutMs ?? 10_000} ms: ${out}`)),
      opts.timeoutMs ?? 10_000,
    );
    proc.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^(\d+)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before printing its pid: ${out}`));
    });
  });
  const stop = async (): Promise<number | string> => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    return exited;
  };
  return { pid, proc, output: () => out, exited, stop };
}

/** Starts the Node workload the way the agent can see JS frames; stop() also removes its /tmp/perf-<pid>.map. */
export async function startNodeWorkload(seconds: number, opts: Omit<StartOptions, 'command'> = {}): Promise<Workload> {
  const w = await startWorkload('node_workload', [], {
    ...opts,
    command: [
      process.execPath,
      '--perf-basic-prof',
      '--interpreted-frames-native-stack',
      join(workloadsDir, 'node_workload.js'),
      String(seconds),
    ],
  });
  return {
    ...w,
    stop: async () => {
      const code = await w.stop();
      rmSync(`/tmp/perf-${w.pid}.map`, { force: true });
      return code;
    },
  };
}

/** Stops every workload, ignoring the ones that already ended. */
export async function stopAll(workloads: Iterable<Workload | undefined>): Promise<void> {
  await Promise.all([...workloads].filter((w) => w !== undefined).map((w) => w.stop()));
}
