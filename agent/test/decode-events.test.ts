// Socket events as SpanSession.poll() frames them (u32 length + struct socket_event + payload), built by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { address, decodeSocketEvents, SOCKET_EVENT_SIZE } from '../src/spans/decode-events.js';

interface Fields {
  kind: number;
  role: number;
  flags?: number;
  family?: number;
  spanId?: bigint;
  bytes?: number;
  payload?: Uint8Array;
  local?: number[];
  remote?: number[];
}

/** One framed record, laid out as bpf/spans.h's struct socket_event. */
function record(f: Fields): Uint8Array {
  const payload = f.payload ?? new Uint8Array();
  const out = new Uint8Array(4 + SOCKET_EVENT_SIZE + payload.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, SOCKET_EVENT_SIZE + payload.length, true);
  const o = 4;
  v.setBigUint64(o, 123456789n, true);
  v.setBigUint64(o + 8, 0xfeedn, true);
  v.setBigUint64(o + 16, f.spanId ?? 0n, true);
  v.setUint32(o + 24, 4242, true);
  v.setUint32(o + 28, 4243, true);
  v.setInt32(o + 32, 17, true);
  v.setUint32(o + 36, f.bytes ?? payload.length, true);
  v.setUint16(o + 40, payload.length, true);
  v.setUint8(o + 42, f.kind);
  v.setUint8(o + 43, f.role);
  v.setUint8(o + 44, f.flags ?? 0);
  v.setUint8(o + 45, f.family ?? 2);
  v.setUint16(o + 46, 8080, true);
  v.setUint16(o + 48, 51000, true);
  out.set(f.local ?? [127, 0, 0, 1], o + 52);
  out.set(f.remote ?? [127, 0, 0, 2], o + 68);
  out.set(payload, o + SOCKET_EVENT_SIZE);
  return out;
}

function concat(...parts: Uint8Array[]): ArrayBuffer {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out.buffer;
}

const request = new TextEncoder().encode('GET / HTTP/1.1\r\n');

test('decodes every field of a server read that starts a request', () => {
  const [e, ...rest] = decodeSocketEvents(
    concat(record({ kind: 1, role: 1, flags: 1 | 2, spanId: 0xabcdef0123456789n, bytes: 4000, payload: request })),
  );
  assert.equal(rest.length, 0);
  assert.deepEqual(e, {
    kind: 'read',
    tsNs: 123456789n,
    connId: 0xfeedn,
    spanId: 0xabcdef0123456789n,
    requestStart: true,
    pid: 4242,
    tid: 4243,
    fd: 17,
    role: 'server',
    bytes: 4000,
    payload: request,
    family: 4,
    localPort: 8080,
    remotePort: 51000,
    localAddr: '127.0.0.1',
    remoteAddr: '127.0.0.2',
  });
});

test('kinds, roles and IPv6 addresses', () => {
  const loopback = [...Array<number>(15).fill(0), 1];
  const mapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3];
  const events = decodeSocketEvents(
    concat(
      record({ kind: 2, role: 2, family: 10, local: loopback, remote: mapped }),
      record({ kind: 3, role: 1, family: 10, local: loopback, remote: loopback }),
    ),
  );
  assert.deepEqual(
    events.map((e) => [e.kind, e.role, e.family, e.localAddr, e.remoteAddr, e.requestStart]),
    [
      ['write', 'client', 6, '::1', '::ffff:10.1.2.3', false],
      ['close', 'server', 6, '::1', '::1', false],
    ],
  );
});

test('IPv6 text form: the longest run of zero groups becomes ::', () => {
  const raw = new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
  assert.equal(address(raw, 6), '2001:db8::1:0:0:1');
  assert.equal(address(new Uint8Array(16), 6), '::');
});

test('a malformed record is reported and skipped; the others are kept', () => {
  const bad = record({ kind: 9, role: 1 });
  const reasons: string[] = [];
  const events = decodeSocketEvents(concat(record({ kind: 1, role: 1 }), bad, record({ kind: 2, role: 1 })), (r) => reasons.push(r));
  assert.deepEqual(
    events.map((e) => e.kind),
    ['read', 'write'],
  );
  assert.equal(reasons.length, 1);
});

test('a record cut short ends the batch with a report', () => {
  const whole = record({ kind: 1, role: 1, payload: request });
  const reasons: string[] = [];
  const events = decodeSocketEvents(concat(record({ kind: 2, role: 2 }), whole.subarray(0, 40)), (r) => reasons.push(r));
  assert.equal(events.length, 1);
  assert.match(reasons[0] ?? '', /runs past/);
  assert.deepEqual(decodeSocketEvents(new ArrayBuffer(0)), []);
});
