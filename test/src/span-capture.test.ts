// Span capture (bpf/spans.bpf.c) against real sockets: a child Node process serves and calls over
// TCP, and the kernel's socket events and thread stamps are checked against what it did.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { cgroup2Mount, CpuSampler, decodeSocketEvents, native, type NativeSpanSession, type SocketEvent } from '@kiln/agent';
import { tempDir } from './lib/kiln.js';

/**
 * Waits for "go" on stdin, then: a client asks the front server `GET /a` on `host`; while serving
 * it the front server calls an upstream server (same process) and answers with 1000 bytes. Also
 * moves data through a pipe, a unix socket and a file. Prints the ports as JSON, then waits for
 * stdin to end.
 */
const traffic = `
const net = require('node:net');
const fs = require('node:fs');
const host = process.argv[1];
const sock = process.argv[2];
const listen = (handler, where) => new Promise((r) => { const s = net.createServer(handler); s.listen(where, () => r(s)); });
const once = (emitter, name) => new Promise((r) => emitter.once(name, r));
async function run() {
  const upstream = await listen((c) => c.on('data', () => c.write('UPSTREAM-REPLY')), { host, port: 0 });
  const front = await listen((c) => {
    c.once('data', () => {
      const up = net.connect(upstream.address().port, host, () => up.write('UPSTREAM-ASK'));
      up.once('data', () => { up.end(); c.end('HTTP/1.1 200 OK\\r\\n\\r\\n' + 'x'.repeat(1000)); });
    });
  }, { host, port: 0 });
  const client = net.connect(front.address().port, host, () => client.write('GET /a HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n'));
  client.resume();
  await once(client, 'end');
  client.destroy();
  const unix = await listen((c) => c.on('data', (d) => c.end(d)), sock);
  const u = net.connect(sock, () => u.write('UNIX-MARKER'));
  u.resume();
  await once(u, 'end');
  fs.writeFileSync(sock + '.file', 'FILE-MARKER');
  fs.readFileSync(sock + '.file');
  process.stdout.write(JSON.stringify({ front: front.address().port, upstream: upstream.address().port, marker: 'PIPE-MARKER' }) + '\\n');
  setTimeout(() => { front.close(); upstream.close(); unix.close(); }, 10);
}
process.stdin.once('data', () => run());
process.stdin.on('end', () => process.exit(0));
`;

/**
 * Serves one request on 127.0.0.1: reads it, burns ~300 ms of CPU, answers; then on "burn" on
 * stdin burns another ~300 ms outside any request.
 */
const burner = `
const net = require('node:net');
const burn = (ms) => { const end = Date.now() + ms; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1); return x; };
const server = net.createServer((c) => c.once('data', () => { burn(300); c.end('RESPONSE'); }));
server.listen({ host: '127.0.0.1', port: 0 }, () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n'));
process.stdin.on('data', () => { burn(300); process.stdout.write(JSON.stringify({ burnt: true }) + '\\n'); });
process.stdin.on('end', () => process.exit(0));
`;

interface Child {
  proc: ChildProcessWithoutNullStreams;
  next: () => Promise<Record<string, unknown>>;
}

function startChild(script: string, args: string[]): Child {
  const proc = spawn(process.execPath, ['-e', script, ...args], { stdio: 'pipe' });
  const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return {
    proc,
    next: async () => {
      const line = await lines.next();
      if (line.done === true) throw new Error(`child ended: ${stderr}`);
      return JSON.parse(line.value) as Record<string, unknown>;
    },
  };
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function collector(session: NativeSpanSession): { events: SocketEvent[]; poll: () => void } {
  const events: SocketEvent[] = [];
  return {
    events,
    poll: () => {
      events.push(
        ...decodeSocketEvents(session.poll(), (reason) => {
          throw new Error(`malformed socket event: ${reason}`);
        }),
      );
    },
  };
}

const text = (e: SocketEvent): string => Buffer.from(e.payload).toString('latin1');

async function ipv6Available(): Promise<boolean> {
  const srv = createServer();
  return new Promise((resolve) => {
    srv.once('error', () => resolve(false));
    srv.listen({ host: '::1', port: 0 }, () => srv.close(() => resolve(true)));
  });
}

async function checkTraffic(host: string, family: 4 | 6): Promise<void> {
  const dir = tempDir();
  const followed = startChild(traffic, [host, `${dir}/unix.sock`]);
  const other = startChild(traffic, [host, `${dir}/other.sock`]);
  let session: NativeSpanSession | undefined;
  try {
    session = new (native().SpanSession)({ pids: [followed.proc.pid!] });
    const { events, poll } = collector(session);
    followed.proc.stdin.write('go\n');
    other.proc.stdin.write('go\n');
    const ports = (await followed.next()) as { front: number; upstream: number };
    await other.next();
    const conns = (): Set<bigint> => new Set(events.filter((e) => e.kind === 'close').map((e) => e.connId));
    // Four TCP connections: client and server end of the front one, of the upstream one.
    await waitFor('the close of every TCP connection', () => (poll(), conns().size >= 4 ? true : undefined));
    poll();

    const pid = followed.proc.pid!;
    assert.ok(
      events.every((e) => e.pid === pid),
      'the pid filter keeps the other child out',
    );
    const tcpPorts = new Set([ports.front, ports.upstream]);
    for (const e of events) {
      assert.ok(tcpPorts.has(e.localPort) || tcpPorts.has(e.remotePort), `only TCP sockets are followed: ${JSON.stringify(e.localPort)}`);
      assert.equal(e.family, family);
      assert.equal(e.localAddr, host === '::1' ? '::1' : host);
      assert.equal(e.remoteAddr, host === '::1' ? '::1' : host);
      assert.doesNotMatch(text(e), /UNIX-MARKER|FILE-MARKER|PIPE-MARKER/, 'no pipe, unix socket or file data');
    }

    const one = (what: string, pred: (e: SocketEvent) => boolean): SocketEvent => {
      const found = events.filter(pred);
      assert.equal(found.length, 1, `one ${what}: ${found.length}`);
      return found[0]!;
    };
    const frontRead = one('front server read', (e) => e.role === 'server' && e.kind === 'read' && e.localPort === ports.front);
    assert.ok(frontRead.requestStart);
    assert.notEqual(frontRead.spanId, 0n);
    assert.match(text(frontRead), /^GET \/a HTTP\/1\.1\r\n/);
    assert.equal(frontRead.bytes, frontRead.payload.length);

    const frontWrites = events.filter((e) => e.role === 'server' && e.kind === 'write' && e.localPort === ports.front);
    assert.ok(frontWrites.length >= 1);
    assert.ok(
      frontWrites.every((e) => e.spanId === frontRead.spanId && !e.requestStart),
      'the response is written under the span its request started',
    );
    const big = frontWrites.find((e) => e.bytes > 256);
    assert.ok(big, 'the 1000-byte response is one write');
    assert.equal(big.payload.length, 256, 'capture is cut at 256 bytes');
    assert.match(text(big), /^HTTP\/1\.1 200 OK\r\n\r\nxxx/);

    const clientWrite = one('front client write', (e) => e.role === 'client' && e.kind === 'write' && e.remotePort === ports.front);
    assert.ok(clientWrite.requestStart);
    assert.equal(clientWrite.spanId, 0n, 'the client thread served no request when it wrote');
    assert.equal(clientWrite.connId === frontRead.connId, false, 'each end of a connection is its own followed fd');
    const clientReads = events.filter((e) => e.role === 'client' && e.kind === 'read' && e.remotePort === ports.front);
    assert.equal(
      clientReads.reduce((n, e) => n + e.bytes, 0),
      'HTTP/1.1 200 OK\r\n\r\n'.length + 1000,
    );

    const upstreamAsk = one('upstream client write', (e) => e.role === 'client' && e.kind === 'write' && e.remotePort === ports.upstream);
    assert.equal(text(upstreamAsk), 'UPSTREAM-ASK');
    assert.ok(upstreamAsk.requestStart);
    assert.equal(upstreamAsk.spanId, frontRead.spanId, "a call made while serving a request carries that request's span as parent");
    const upstreamRead = one('upstream server read', (e) => e.role === 'server' && e.kind === 'read' && e.localPort === ports.upstream);
    assert.ok(upstreamRead.requestStart);
    assert.notEqual(upstreamRead.spanId, frontRead.spanId);

    const stats = session.stats();
    assert.equal(stats.eventsLost, 0);
    assert.equal(stats.payloadErrors, 0);
  } finally {
    session?.close();
    followed.proc.stdin.end();
    other.proc.stdin.end();
  }
}

test('socket events of TCP connections over IPv4: kinds, roles, ports, payloads, span ids', async () => {
  assert.equal(process.getuid?.(), 0, 'this test loads BPF programs and must run as root');
  await checkTraffic('127.0.0.1', 4);
});

test('socket events over IPv6', async () => {
  assert.ok(await ipv6Available(), 'this test needs IPv6 loopback (::1): enable it on this host');
  await checkTraffic('::1', 6);
});

/**
 * Waits for "go" on stdin, then a client writes the pieces given as JSON in one writev (cork, a
 * write per piece, uncork) and ends; the server, paused so that Node never reads the socket itself,
 * reads it with readv into buffers of the sizes given as JSON until all the bytes are in. Prints the
 * port as JSON, then waits for stdin to end.
 */
const vectored = `
const net = require('node:net');
const fs = require('node:fs');
const pieces = JSON.parse(process.argv[1]).map((p) => Buffer.from(p));
const sizes = JSON.parse(process.argv[2]);
const total = pieces.reduce((n, p) => n + p.length, 0);
function readAll(c, done) {
  let got = 0;
  const step = () => {
    const bufs = sizes.map((n) => Buffer.alloc(n));
    let n;
    try { n = fs.readvSync(c._handle.fd, bufs); } catch (e) { if (e.code === 'EAGAIN') return setTimeout(step, 5); throw e; }
    got += n;
    if (n > 0 && got < total) return setImmediate(step);
    done();
  };
  step();
}
const server = net.createServer({ pauseOnConnect: true }, (c) => readAll(c, () => {
  c.destroy();
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n');
}));
process.stdin.once('data', () => server.listen({ host: '127.0.0.1', port: 0 }, () => {
  const client = net.connect(server.address().port, '127.0.0.1', () => {
    client.cork();
    for (const p of pieces) client.write(p);
    client.uncork();
    client.end();
  });
  client.on('error', () => {});
}));
process.stdin.on('end', () => process.exit(0));
`;

/**
 * Runs `vectored` with `pieces` written and read back with readv into `readSizes`, capturing
 * `payloadBytes`; returns the client's write events and the server's read events of the connection.
 */
async function vectorTraffic(
  pieces: string[],
  readSizes: number[],
  payloadBytes: number,
): Promise<{ writes: SocketEvent[]; reads: SocketEvent[]; payloadErrors: number }> {
  const child = startChild(vectored, [JSON.stringify(pieces), JSON.stringify(readSizes)]);
  let session: NativeSpanSession | undefined;
  try {
    session = new (native().SpanSession)({ pids: [child.proc.pid!], payloadBytes });
    const { events, poll } = collector(session);
    child.proc.stdin.write('go\n');
    const { port } = (await child.next()) as { port: number };
    const total = pieces.join('').length;
    const of = (kind: SocketEvent['kind'], role: SocketEvent['role']): SocketEvent[] =>
      events.filter((e) => e.kind === kind && e.role === role && (role === 'server' ? e.localPort : e.remotePort) === port);
    const sum = (es: SocketEvent[]): number => es.reduce((n, e) => n + e.bytes, 0);
    await waitFor('every byte written and read', () => {
      poll();
      return sum(of('write', 'client')) >= total && sum(of('read', 'server')) >= total ? true : undefined;
    });
    return { writes: of('write', 'client'), reads: of('read', 'server'), payloadErrors: session.stats().payloadErrors };
  } finally {
    session?.close();
    child.proc.stdin.end();
  }
}

/** Checks that each event's payload is the start of its part of `data`, cut at `payloadBytes`. */
function assertPrefixes(events: SocketEvent[], data: string, payloadBytes: number): void {
  let offset = 0;
  for (const e of events) {
    const moved = data.slice(offset, offset + e.bytes);
    assert.equal(text(e), moved.slice(0, payloadBytes), `the payload is the first bytes the call moved, in order`);
    offset += e.bytes;
  }
  assert.equal(offset, data.length);
}

test('writev and readv: the payload runs across the iovecs, in order', async () => {
  assert.equal(process.getuid?.(), 0, 'this test loads BPF programs and must run as root');
  // An extended query as node's pg sends it: one message per iovec.
  const pieces = ['PARSE:select $1::int;', 'BIND:42;', 'DESCRIBE;', 'EXECUTE;', 'SYNC.'];
  const data = pieces.join('');
  const { writes, reads, payloadErrors } = await vectorTraffic(pieces, [4, 16, 8, 256], 256);
  assert.equal(writes.length, 1, 'cork/uncork writes the request in one writev');
  assert.equal(writes[0]!.bytes, data.length);
  assert.equal(text(writes[0]!), data, 'the write carries every iovec, the Sync included');
  assert.ok(reads.length >= 1);
  assert.ok(
    reads.every((e) => e.payload.length === e.bytes),
    'nothing read is cut',
  );
  assertPrefixes(reads, data, 256);
  assert.equal(text(reads[0]!).slice(0, 4 + 16 + 8 + 1), data.slice(0, 29), 'readv fills its iovecs in order');
  assert.equal(payloadErrors, 0);
});

test('writev and readv past the payload size: the capture stops at it and the event says it was cut', async () => {
  assert.equal(process.getuid?.(), 0, 'this test loads BPF programs and must run as root');
  const pieces = Array.from({ length: 6 }, (_, i) => `piece-${i}:`.padEnd(20, String(i)));
  const data = pieces.join('');
  const payloadBytes = 64;
  const { writes, reads, payloadErrors } = await vectorTraffic(pieces, [10, 20, 30, 200], payloadBytes);
  assert.equal(writes.length, 1, 'cork/uncork writes the request in one writev');
  assert.equal(writes[0]!.bytes, data.length);
  assert.equal(writes[0]!.payload.length, payloadBytes);
  assert.equal(text(writes[0]!), data.slice(0, payloadBytes));
  assertPrefixes(reads, data, payloadBytes);
  assert.ok(
    reads.some((e) => e.bytes > payloadBytes && e.payload.length === payloadBytes),
    'a readv of more than the payload size is captured up to it',
  );
  assert.equal(payloadErrors, 0);
});

test('span capture reports the hooks it uses on this kernel', () => {
  const session = new (native().SpanSession)({ pids: [process.pid], excludePid: 0 });
  try {
    const hooks = session.hooks();
    for (const call of ['read', 'write', 'readv', 'writev', 'sendto', 'recvfrom', 'sendmsg', 'recvmsg', 'accept4', 'connect']) {
      assert.ok(hooks.tracepoints.includes(`syscalls:sys_enter_${call}`), `${call} entry: ${hooks.missing.join('; ')}`);
      assert.ok(hooks.tracepoints.includes(`syscalls:sys_exit_${call}`), `${call} exit`);
    }
    assert.ok(hooks.tracepoints.includes('syscalls:sys_enter_close'));
    assert.equal(typeof hooks.fentry.ok, 'boolean');
    assert.ok(hooks.fentry.detail.length > 0);
  } finally {
    session.close();
  }
});

test("CPU samples a thread takes while serving a request carry the request's span; after its response, none", async () => {
  assert.equal(process.getuid?.(), 0, 'this test loads BPF programs and must run as root');
  const child = startChild(burner, []);
  const pid = child.proc.pid!;
  let session: NativeSpanSession | undefined;
  let sampler: CpuSampler | undefined;
  try {
    session = new (native().SpanSession)({ pids: [pid] });
    sampler = new CpuSampler({ frequency: 99, pids: [pid], includeIdle: false, spans: session });
    const { events, poll } = collector(session);
    const { port } = (await child.next()) as { port: number };
    sampler.drain();
    const answer = await new Promise<string>((resolve, reject) => {
      let got = '';
      const c = connect(port, '127.0.0.1', () => c.write('REQUEST'));
      c.on('data', (d: Buffer) => (got += d.toString()));
      c.on('end', () => resolve(got));
      c.on('error', reject);
    });
    assert.equal(answer, 'RESPONSE');
    const during = sampler.drain().samples;
    child.proc.stdin.write('burn\n');
    await child.next();
    const after = sampler.drain().samples;

    const read = await waitFor('the request read', () => {
      poll();
      return events.find((e) => e.kind === 'read' && e.role === 'server');
    });
    assert.ok(read.requestStart && read.spanId !== 0n);
    const write = await waitFor('the response write', () => {
      poll();
      return events.find((e) => e.kind === 'write' && e.role === 'server');
    });
    assert.equal(write.spanId, read.spanId);

    const count = (batch: typeof during, span: (s: bigint) => boolean): number => {
      let n = 0;
      for (let i = 0; i < batch.length; i++) if (batch.tid[i] === pid && span(batch.spanId[i]!)) n += batch.count[i]!;
      return n;
    };
    // ~30 samples at 99 Hz in 300 ms; a loaded machine may run the child less.
    assert.ok(count(during, (s) => s === read.spanId) >= 5, `samples of the request: ${count(during, (s) => s === read.spanId)}`);
    assert.equal(
      count(during, (s) => s !== 0n && s !== read.spanId),
      0,
      'no other span',
    );
    assert.ok(count(after, () => true) >= 5, `samples after the response: ${count(after, () => true)}`);
    assert.equal(
      count(after, (s) => s !== 0n),
      0,
      'after its response the thread serves no span',
    );
  } finally {
    sampler?.close();
    session?.close();
    child.proc.stdin.end();
  }
});

test('the cgroup filter: only processes in the selected cgroup v2 are followed', async () => {
  // This host may have only cgroup v1 mounted: the unified hierarchy (no controllers) can always be mounted beside it.
  const dir = tempDir();
  let root = cgroup2Mount();
  let mounted = false;
  if (root === undefined) {
    root = `${dir}/cgroup2`;
    mkdirSync(root);
    execFileSync('mount', ['-t', 'cgroup2', 'none', root]);
    mounted = true;
  }
  const group = `${root}/kiln-span-test-${process.pid}`;
  mkdirSync(group);
  const followed = startChild(traffic, ['127.0.0.1', `${dir}/in.sock`]);
  const other = startChild(traffic, ['127.0.0.1', `${dir}/out.sock`]);
  let session: NativeSpanSession | undefined;
  try {
    writeFileSync(`${group}/cgroup.procs`, String(followed.proc.pid));
    session = new (native().SpanSession)({ cgroupIds: [statSync(group, { bigint: true }).ino] });
    const { events, poll } = collector(session);
    followed.proc.stdin.write('go\n');
    other.proc.stdin.write('go\n');
    await followed.next();
    await other.next();
    await waitFor(
      'the followed child’s connections closed',
      () => (poll(), events.filter((e) => e.kind === 'close').length >= 4 ? true : undefined),
    );
    poll();
    assert.deepEqual([...new Set(events.map((e) => e.pid))], [followed.proc.pid], 'only the process in the cgroup');
  } finally {
    session?.close();
    followed.proc.stdin.end();
    other.proc.stdin.end();
    for (const c of [followed, other]) if (c.proc.exitCode === null && c.proc.signalCode === null) await once(c.proc, 'exit');
    rmdirSync(group);
    if (mounted) execFileSync('umount', [root]);
  }
});
