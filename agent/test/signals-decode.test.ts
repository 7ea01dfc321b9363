// The signal session's records, laid out by hand as bpf/sched.h and bpf/retransmits.h define them
// (x86-64: natural alignment, little endian), decoded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CGROUP_WAIT_SIZE,
  checkRecordSizes,
  CONNECTION_SIZE,
  decodeCgroupWaits,
  decodeConnectionRetransmits,
  decodeEpisodes,
  decodeRetransmitEvents,
  EPISODE_SIZE,
  RETRANSMIT_EVENT_SIZE,
} from '../src/signals/decode.js';

function records(size: number, count: number): { buf: ArrayBuffer; view: DataView; bytes: Uint8Array } {
  const buf = new ArrayBuffer(size * count);
  return { buf, view: new DataView(buf), bytes: new Uint8Array(buf) };
}

/** struct tcp_tuple at `o`: family, pad[3], local_port, remote_port (host order), local_addr[16], remote_addr[16]. */
function writeTuple(
  view: DataView,
  bytes: Uint8Array,
  o: number,
  family: number,
  local: number[],
  lport: number,
  remote: number[],
  rport: number,
) {
  view.setUint8(o, family);
  view.setUint16(o + 4, lport, true);
  view.setUint16(o + 6, rport, true);
  bytes.set(local, o + 8);
  bytes.set(remote, o + 24);
}

test('the record sizes match the headers, and a session built from other headers is refused with a clear error', () => {
  assert.deepEqual([EPISODE_SIZE, RETRANSMIT_EVENT_SIZE, CGROUP_WAIT_SIZE, CONNECTION_SIZE], [64, 64, 288, 112]);
  checkRecordSizes({ episode: 64, retransmitEvent: 64, cgroupWait: 288, connection: 112 });
  assert.throws(
    () => checkRecordSizes({ episode: 72, retransmitEvent: 64, cgroupWait: 288, connection: 112 }),
    /episode: 72 bytes, expected 64.*rebuild the agent's native addon/,
  );
});

test('sched_episode: times, cgroup, span, task and kind; an unknown kind is reported and skipped', () => {
  const { buf, view, bytes } = records(EPISODE_SIZE, 2);
  view.setBigUint64(0, 123_456_789_000n, true); // start_ns
  view.setBigUint64(8, 12_000_000n, true); // duration_ns
  view.setBigUint64(16, 4242n, true); // cgroup_id
  view.setBigUint64(24, 0xabcn, true); // span_id
  view.setUint32(32, 300, true); // tgid
  view.setUint32(36, 301, true); // tid
  view.setUint8(40, 1); // kind: WAIT_THROTTLED
  bytes.set(new TextEncoder().encode('burner'), 48);
  view.setUint8(64 + 40, 7);
  const malformed: string[] = [];
  const episodes = decodeEpisodes(buf, (r) => malformed.push(r));
  assert.deepEqual(episodes, [
    {
      kind: 'throttle',
      startNs: 123_456_789_000n,
      durationNs: 12_000_000,
      cgroupId: 4242n,
      spanId: 0xabcn,
      pid: 300,
      tid: 301,
      comm: 'burner',
    },
  ]);
  assert.deepEqual(malformed, ['an episode of unknown kind 7']);
});

test('a comm of all 16 bytes, with no NUL, is read whole and no further', () => {
  const { buf, view, bytes } = records(EPISODE_SIZE, 1);
  view.setUint8(40, 0);
  bytes.set(new TextEncoder().encode('abcdefghijklmnop'), 48);
  assert.equal(decodeEpisodes(buf)[0]?.comm, 'abcdefghijklmnop');
});

test('cgroup_wait_key + cgroup_wait: totals and the log2 histogram without its empty tail', () => {
  const { buf, view } = records(CGROUP_WAIT_SIZE, 1);
  view.setBigUint64(0, 77n, true); // cgroup_id
  view.setUint32(8, 0, true); // kind: WAIT_RUNQUEUE
  view.setBigUint64(16, 9_000_000n, true); // total_ns
  view.setBigUint64(24, 5n, true); // count
  view.setBigUint64(32 + 8 * 0, 1n, true); // < 2 µs
  view.setBigUint64(32 + 8 * 3, 3n, true); // [8, 16) µs
  view.setBigUint64(32 + 8 * 12, 1n, true); // [4, 8) ms
  assert.deepEqual(decodeCgroupWaits(buf), [
    { cgroupId: 77n, kind: 'runqueue', totalNs: 9_000_000, count: 5, histogram: [1, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 1] },
  ]);
});

test('retransmit_event: time, IPv4 connection, segments, owner', () => {
  const { buf, view, bytes } = records(RETRANSMIT_EVENT_SIZE, 1);
  view.setBigUint64(0, 5_000n, true);
  writeTuple(view, bytes, 8, 2, [10, 0, 0, 1], 8080, [10, 0, 0, 2], 43210);
  view.setUint32(48, 3, true); // segments
  view.setUint32(52, 900, true); // tgid
  view.setUint8(56, 1); // state
  assert.deepEqual(decodeRetransmitEvents(buf), [
    {
      tsNs: 5_000n,
      connection: { family: 'ipv4', localAddress: '10.0.0.1', localPort: 8080, remoteAddress: '10.0.0.2', remotePort: 43210 },
      segments: 3,
      pid: 900,
    },
  ]);
});

test('tcp_tuple + retransmit_count: IPv6 connection, owner, counts, state; stray bytes and an unknown family are reported', () => {
  const { buf: whole, view, bytes } = records(CONNECTION_SIZE, 2);
  const v6 = (last: number) => [0x20, 0x01, 0x0d, 0xb8, ...Array<number>(11).fill(0), last];
  writeTuple(view, bytes, 0, 10, v6(1), 443, v6(2), 50000);
  const v = 40;
  view.setBigUint64(v, 99n, true); // owner.cgroup_id
  view.setUint32(v + 8, 700, true); // owner.tgid
  view.setUint32(v + 12, 701, true); // owner.tid
  bytes.set(new TextEncoder().encode('sender'), v + 16);
  view.setBigUint64(v + 32, 190n, true); // segments
  view.setBigUint64(v + 40, 9n, true); // hits
  view.setBigUint64(v + 48, 1_000n, true); // first_ns
  view.setBigUint64(v + 56, 2_000n, true); // last_ns
  view.setUint8(v + 64, 4); // state: FIN_WAIT1
  view.setUint8(v + 65, 1); // synack
  view.setUint8(CONNECTION_SIZE, 17); // the second record: not AF_INET or AF_INET6
  const buf = new ArrayBuffer(whole.byteLength + 3);
  new Uint8Array(buf).set(bytes);
  const malformed: string[] = [];
  assert.deepEqual(
    decodeConnectionRetransmits(buf, (r) => malformed.push(r)),
    [
      {
        connection: { family: 'ipv6', localAddress: '2001:db8::1', localPort: 443, remoteAddress: '2001:db8::2', remotePort: 50000 },
        cgroupId: 99n,
        pid: 700,
        tid: 701,
        comm: 'sender',
        segments: 190,
        hits: 9,
        firstNs: 1_000n,
        lastNs: 2_000n,
        state: 'FIN_WAIT1',
        synack: true,
      },
    ],
  );
  assert.deepEqual(malformed, ['3 stray bytes after 2 records of 112', 'a connection of unknown address family 17']);
});
