// Starts real `kiln` processes (the same bin a user runs) for end-to-end tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(fileURLToPath(import.meta.url), '../../../..');
export const kilnBin = join(repoRoot, 'bin/kiln.js');

const made: string[] = [];
// Every test file runs in its own process: what it made goes when it exits (servers stopped by then).
process.on('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A new directory under the system temp dir, removed when this process exits. */
export function tempDir(prefix = 'kiln-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const addr = srv.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  srv.close();
  await once(srv, 'close');
  return addr.port;
}

export interface KilnProcess {
  proc: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** What it wrote to stdout alone. */
  stdout(): string;
  /** Resolves with the exit code (or signal name) once the process ended. */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | string>;
}

/**
 * Runs `kiln <args>` as a child process, capturing its output. KILN_NODE_ARGS (e.g. `--cpu-prof
 * --cpu-prof-dir=/tmp/p`) are passed to its node, to profile what a benchmark starts.
 */
export function runKiln(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  nodeArgs = (process.env.KILN_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''),
): KilnProcess {
  const proc = spawn(process.execPath, [...nodeArgs, kilnBin, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stdout = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    stdout += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((res) => {
    proc.on('exit', (code, signal) => res(code ?? signal ?? -1));
  });
  const stop = async (graceMs = 10_000): Promise<number | string> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    }
    return exited;
  };
  return { proc, output: () => out, stdout: () => stdout, exited, stop };
}

/** Polls `url` until it answers 200 or the process exits or `timeoutMs` passes. */
export async function waitForOk(url: string, kiln: KilnProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let ended = false;
  void kiln.exited.then(() => (ended = true));
  for (;;) {
    if (ended) throw new Error(`kiln exited before ${url} answered:\n${kiln.output()}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms:\n${kiln.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface KilnServer extends KilnProcess {
  url: string;
  port: number;
  dataDir: string;
}

/** Starts `kiln server` on a free port with its own data directory and waits for /readyz. */
export async function startServer(
  opts: { dataDir?: string; port?: number; args?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<KilnServer> {
  const port = opts.port ?? (await freePort());
  const dataDir = opts.dataDir ?? tempDir('kiln-data-');
  const kiln = runKiln(['server', '--port', String(port), '--data', dataDir, ...(opts.args ?? [])], opts.env);
  const url = `http://127.0.0.1:${port}`;
  await waitForOk(`${url}/readyz`, kiln);
  return { ...kiln, url, port, dataDir };
}
