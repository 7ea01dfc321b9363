// A network test bed: two network namespaces joined by a veth pair, optionally losing a share of the
// packets the receiver gets (iptables `statistic` match), and a bulk TCP transfer across it. Each
// namespace has its own TCP counters (/proc/net/snmp), so the sender's TcpRetransSegs counts the
// retransmits of exactly the connections started in it.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';

export interface NetnsLinkOptions {
  /** Share of the packets arriving in the receiver namespace dropped at random (0: none, no iptables rule). */
  dropProbability?: number;
}

/** A TCP connection as the sending end sees it. */
export interface TcpTuple {
  localAddr: string;
  localPort: number;
  remoteAddr: string;
  remotePort: number;
}

export interface BulkTransfer {
  /** The sending process (it connected and writes every byte itself, on its main thread). */
  pid: number;
  tuple: TcpTuple;
  /** Resolves when the receiver has read every byte and the connection is closed. */
  done: Promise<{ bytes: number; seconds: number }>;
}

export interface BulkTransferOptions {
  bytes: number;
  /** Size of each write (default 64 KiB). */
  chunkBytes?: number;
  /** Wraps the sender's command, e.g. `CpuCgroup.wrap`, so that it runs there from its first instruction. */
  wrap?: (command: string[]) => string[];
}

/** Reads until the peer ends, answers with the byte count, and exits. Prints its port first. */
const receiverScript = `
const server = require('node:net').createServer((c) => {
  let bytes = 0;
  c.on('data', (d) => (bytes += d.length));
  c.on('end', () => { c.end(); server.close(); process.stdout.write(JSON.stringify({ received: bytes }) + '\\n'); });
});
server.listen({ host: process.argv[1], port: 0 }, () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n'));
`;

/** Connects, prints its pid and tuple, writes the bytes in chunks, and exits once the receiver closed. */
const senderScript = `
const [host, port, total, chunkBytes] = process.argv.slice(1);
const chunk = Buffer.alloc(Number(chunkBytes), 0x6b);
const c = require('node:net').connect(Number(port), host, () => {
  process.stdout.write(JSON.stringify({ pid: process.pid, localAddr: c.localAddress, localPort: c.localPort }) + '\\n');
  const start = process.hrtime.bigint();
  let left = Number(total);
  const write = () => {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!c.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void c.once('drain', write);
    }
    c.end();
  };
  c.on('close', () => process.stdout.write(JSON.stringify({ seconds: Number(process.hrtime.bigint() - start) / 1e9 }) + '\\n'));
  c.resume();
  write();
});
`;

interface LineChild {
  proc: ChildProcessWithoutNullStreams;
  next: () => Promise<Record<string, unknown>>;
}

function spawnLines(argv: string[], name: string): LineChild {
  const env = { ...process.env };
  // Some environments point this at a file the children should not load (and it slows their start).
  delete env.NODE_EXTRA_CA_CERTS;
  const proc = spawn(argv[0]!, argv.slice(1), { stdio: 'pipe', env });
  proc.stdin.end();
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  return {
    proc,
    next: async () => {
      const line = await lines.next();
      if (line.done === true) throw new Error(`${name} ended early (exit ${proc.exitCode ?? proc.signalCode}): ${stderr}`);
      return JSON.parse(line.value) as Record<string, unknown>;
    },
  };
}

function run(argv: string[]): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error(`${argv[0]} is not installed: run scripts/install-deps.sh as root`);
    throw new Error(`${argv.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

export class NetnsLink {
  readonly sender: string;
  readonly receiver: string;
  readonly senderAddr: string;
  readonly receiverAddr: string;
  readonly #closeOnExit = (): void => this.close();
  #closed = false;

  /** Creates both namespaces; if any step fails, what was made is removed before the error is thrown. */
  constructor(opts: NetnsLinkOptions = {}) {
    const id = randomBytes(3).toString('hex');
    this.sender = `kiln-${id}-tx`;
    this.receiver = `kiln-${id}-rx`;
    // Each end lives in its own namespace, so concurrent runs never clash over addresses; the
    // subnet only needs to differ from the host's.
    const subnet = `10.77.${randomBytes(1)[0]}`;
    this.senderAddr = `${subnet}.1`;
    this.receiverAddr = `${subnet}.2`;
    process.once('exit', this.#closeOnExit);
    try {
      const [txDev, rxDev] = [`kv${id}t`, `kv${id}r`]; // interface names: at most 15 bytes
      run(['ip', 'netns', 'add', this.sender]);
      run(['ip', 'netns', 'add', this.receiver]);
      run(['ip', 'link', 'add', txDev, 'netns', this.sender, 'type', 'veth', 'peer', 'name', rxDev, 'netns', this.receiver]);
      for (const [ns, dev, addr] of [
        [this.sender, txDev, this.senderAddr],
        [this.receiver, rxDev, this.receiverAddr],
      ] as const) {
        run(['ip', '-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev]);
        run(['ip', '-n', ns, 'link', 'set', dev, 'up']);
        run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      }
      const drop = opts.dropProbability ?? 0;
      if (drop > 0) {
        // Debian's `iptables` is the nf_tables backend; the statistic match works there as in legacy.
        run([
          ...this.exec(this.receiver),
          'iptables',
          '-A',
          'INPUT',
          '-m',
          'statistic',
          '--mode',
          'random',
          '--probability',
          String(drop),
          '-j',
          'DROP',
        ]);
      }
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** The argv prefix that runs a command inside namespace `ns`. */
  exec(ns: string): string[] {
    return ['ip', 'netns', 'exec', ns];
  }

  /** The namespace's TcpRetransSegs: segments its TCP stack retransmitted. */
  retransSegs(ns: string): number {
    const snmp = run([...this.exec(ns), 'cat', '/proc/net/snmp']);
    const [names, values] = snmp.split('\n').filter((l) => l.startsWith('Tcp:'));
    const i = names?.split(/\s+/).indexOf('RetransSegs') ?? -1;
    const value = values?.split(/\s+/)[i];
    if (i < 0 || value === undefined) throw new Error(`no Tcp RetransSegs in ${ns}'s /proc/net/snmp:\n${snmp}`);
    return Number(value);
  }

  /** A receiver in the receiver namespace and a sender in the sender one, moving `bytes` over one connection. */
  async bulkTransfer(opts: BulkTransferOptions): Promise<BulkTransfer> {
    const node = (ns: string, script: string, args: (string | number)[]): string[] => [
      ...this.exec(ns),
      process.execPath,
      '-e',
      script,
      ...args.map(String),
    ];
    const receiver = spawnLines(node(this.receiver, receiverScript, [this.receiverAddr]), 'bulk receiver');
    const { port } = (await receiver.next()) as { port: number };
    const command = node(this.sender, senderScript, [this.receiverAddr, port, opts.bytes, opts.chunkBytes ?? 65536]);
    const sender = spawnLines(opts.wrap?.(command) ?? command, 'bulk sender');
    const { pid, localAddr, localPort } = (await sender.next()) as { pid: number; localAddr: string; localPort: number };
    const done = (async () => {
      const [{ received }, { seconds }] = (await Promise.all([receiver.next(), sender.next()])) as [
        { received: number },
        { seconds: number },
      ];
      if (received !== opts.bytes) throw new Error(`the receiver read ${received} of ${opts.bytes} bytes`);
      return { bytes: received, seconds };
    })();
    return { pid, tuple: { localAddr, localPort, remoteAddr: this.receiverAddr, remotePort: port }, done };
  }

  /** Kills what still runs in the namespaces and deletes them (the veth pair goes with them). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    process.removeListener('exit', this.#closeOnExit);
    for (const ns of [this.sender, this.receiver]) {
      let pids: string[];
      try {
        pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n');
      } catch {
        continue; // never created: construction failed before it
      }
      for (const pid of pids.filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // It exited meanwhile.
        }
      }
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    }
  }
}
