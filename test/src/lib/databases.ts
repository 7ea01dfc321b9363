// Private PostgreSQL, Redis and MariaDB servers from apt (scripts/install-deps.sh), each in a temp
// directory on a free port, for the span tests: real servers, real client libraries.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, readdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { freePort, tempDir } from './kiln.js';

export interface Database {
  port: number;
  /** The server's main process (PostgreSQL: the postmaster, whose backends are its children). */
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

function start(argv: string[], port: number, name: string): Promise<Database> {
  const proc: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((res) => proc.on('exit', () => res()));
  const db: Database = {
    port,
    pid: proc.pid!,
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  return waitForPort(port, 60_000).then(
    () => db,
    async (err: Error) => {
      await db.stop();
      throw new Error(`${name} did not listen on ${port}: ${err.message}\n${out}`);
    },
  );
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => {
        s.destroy();
        res(true);
      });
      s.on('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function postgresBin(tool: string): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const path = versions.map((v) => join(root, v, 'bin', tool)).find((p) => existsSync(p));
  if (path === undefined) throw new Error(`PostgreSQL's ${tool} is not installed: run scripts/install-deps.sh`);
  return path;
}

/** PostgreSQL as the postgres user (it refuses root), trust auth for user `kiln`, database `postgres`. */
export async function startPostgres(): Promise<Database> {
  const dir = tempDir('kiln-pg-');
  chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
  const data = join(dir, 'data');
  execFileSync('runuser', ['-u', 'postgres', '--', postgresBin('initdb'), '-D', data, '-U', 'kiln', '--auth=trust', '-E', 'UTF8'], {
    stdio: 'pipe',
  });
  const port = await freePort();
  return start(
    [
      'runuser',
      '-u',
      'postgres',
      '--',
      postgresBin('postgres'),
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
    ],
    port,
    'postgres',
  );
}

export async function startRedis(): Promise<Database> {
  const port = await freePort();
  return start(['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], port, 'redis-server');
}

/** MariaDB without grant tables: any user, no password. */
export async function startMariaDb(): Promise<Database> {
  const dir = tempDir('kiln-mariadb-');
  const data = join(dir, 'data');
  execFileSync('mariadb-install-db', ['--user=root', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db'], {
    stdio: 'pipe',
  });
  const port = await freePort();
  return start(
    [
      'mariadbd',
      '--no-defaults',
      '--user=root',
      `--datadir=${data}`,
      `--socket=${join(dir, 'sock')}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      '--skip-grant-tables',
      '--skip-log-bin',
    ],
    port,
    'mariadbd',
  );
}
