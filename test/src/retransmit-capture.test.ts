// The retransmit probe (bpf/retransmits.bpf.c) through the native SignalSession, against the real
// kernel: a bulk TCP transfer between two network namespaces whose receiver drops 10% of what it
// gets, counted against the sending namespace's own TcpRetransSegs, and attributed to the sender.
import assert from 'node:assert/strict';
import { isIPv4 } from 'node:net';
import { test } from 'node:test';
import { native } from '@kiln/agent';
import { CpuCgroup } from './lib/cpu-cgroup.js';
import { NetnsLink, type TcpTuple } from './lib/netns.js';

// @kiln/agent does not export the type: the session as the addon constructs it.
type NativeSignalSession = InstanceType<ReturnType<typeof native>['SignalSession']>;

const AF_INET = 2;
// bpf/retransmits.h: struct tcp_tuple is 40 bytes (family, pad[3], two u16 ports, two 16-byte
// addresses); struct retransmit_count is sock_owner (cgroup_id, tgid, tid, comm[16]) then segments,
// hits, first_ns, last_ns and 8 bytes of state/synack/pad; struct retransmit_event is ts_ns, the
// tuple, segments, tgid, then 8 bytes.
const TUPLE_BYTES = 40;
const CONNECTION_BYTES = TUPLE_BYTES + 72;
const EVENT_BYTES = 8 + TUPLE_BYTES + 16;

function decodeTuple(view: DataView, o: number): TcpTuple & { family: number } {
  const addr = (at: number): string => Array.from(new Uint8Array(view.buffer, view.byteOffset + at, 4)).join('.');
  return {
    family: view.getUint8(o),
    localPort: view.getUint16(o + 4, true),
    remotePort: view.getUint16(o + 6, true),
    localAddr: addr(o + 8),
    remoteAddr: addr(o + 24),
  };
}

interface ConnectionRetransmits {
  tuple: TcpTuple & { family: number };
  cgroupId: bigint;
  tgid: number;
  segments: number;
  hits: number;
}

/** Records of `struct tcp_tuple` + `struct retransmit_count`. */
function drainConnections(session: NativeSignalSession): ConnectionRetransmits[] {
  const buf = session.drainRetransmits();
  assert.equal(buf.byteLength % CONNECTION_BYTES, 0, 'whole records');
  const view = new DataView(buf);
  const out: ConnectionRetransmits[] = [];
  for (let o = 0; o < buf.byteLength; o += CONNECTION_BYTES) {
    const c = o + TUPLE_BYTES;
    out.push({
      tuple: decodeTuple(view, o),
      cgroupId: view.getBigUint64(c, true),
      tgid: view.getUint32(c + 8, true),
      segments: Number(view.getBigUint64(c + 32, true)),
      hits: Number(view.getBigUint64(c + 40, true)),
    });
  }
  return out;
}

/** Records of `struct retransmit_event`: the tuple and segments of each. */
function pollEvents(session: NativeSignalSession): { tuple: TcpTuple & { family: number }; segments: number; tgid: number }[] {
  const buf = session.pollRetransmits();
  assert.equal(buf.byteLength % EVENT_BYTES, 0, 'whole records');
  const view = new DataView(buf);
  const out = [];
  for (let o = 0; o < buf.byteLength; o += EVENT_BYTES) {
    out.push({ tuple: decodeTuple(view, o + 8), segments: view.getUint32(o + 48, true), tgid: view.getUint32(o + 52, true) });
  }
  return out;
}

const sameTuple = (a: TcpTuple, b: TcpTuple): boolean =>
  a.localAddr === b.localAddr && a.localPort === b.localPort && a.remoteAddr === b.remoteAddr && a.remotePort === b.remotePort;

test('retransmitted segments of a lossy bulk transfer match the sender namespace TcpRetransSegs, attributed to the sender', async (t) => {
  const link = new NetnsLink({ dropProbability: 0.1 });
  t.after(() => link.close());
  const cgroup = new CpuCgroup();
  t.after(() => cgroup.remove());
  const session = new (native().SignalSession)({});
  t.after(() => session.close());
  assert.deepEqual(
    { connection: session.recordSizes.connection, retransmitEvent: session.recordSizes.retransmitEvent },
    { connection: CONNECTION_BYTES, retransmitEvent: EVENT_BYTES },
    'record sizes as bpf/retransmits.h lays them out',
  );

  const before = link.retransSegs(link.sender);
  const transfer = await link.bulkTransfer({ bytes: 32 << 20, wrap: (command) => cgroup.wrap(command) });
  const { tuple } = transfer;
  assert.ok(isIPv4(tuple.localAddr), `an IPv4 sender address: ${tuple.localAddr}`);
  // Poll while the transfer runs so that the event ring never fills.
  const events: ReturnType<typeof pollEvents> = [];
  const connections: ConnectionRetransmits[] = [];
  const poller = setInterval(() => events.push(...pollEvents(session)), 100);
  try {
    await transfer.done;
  } finally {
    clearInterval(poller);
  }
  const kernelSegments = link.retransSegs(link.sender) - before;
  events.push(...pollEvents(session));
  connections.push(...drainConnections(session));

  const ours = connections.filter((c) => c.tuple.family === AF_INET && sameTuple(c.tuple, tuple));
  assert.ok(ours.length > 0, `a count for ${JSON.stringify(tuple)} among ${JSON.stringify(connections.map((c) => c.tuple))}`);
  const segments = ours.reduce((n, c) => n + c.segments, 0);
  const hits = ours.reduce((n, c) => n + c.hits, 0);
  assert.ok(kernelSegments > 50, `the 10% drop made the sender retransmit (TcpRetransSegs +${kernelSegments})`);
  const ratio = segments / kernelSegments;
  t.diagnostic(
    `retransmitted segments: Kiln ${segments} (${hits} tracepoint hits), TcpRetransSegs +${kernelSegments}, ratio ${ratio.toFixed(3)}`,
  );
  assert.ok(Math.abs(ratio - 1) <= 0.1, `Kiln ${segments} vs kernel ${kernelSegments} segments: ratio ${ratio.toFixed(3)}`);

  for (const c of ours) {
    assert.equal(c.tgid, transfer.pid, 'owned by the sending process');
    assert.equal(c.cgroupId, cgroup.id, `in the sender's cpu cgroup ${cgroup.path}`);
  }
  const ourEvents = events.filter((e) => e.tuple.family === AF_INET && sameTuple(e.tuple, tuple));
  assert.ok(ourEvents.length > 0, `retransmit events for the transfer's connection among ${events.length}`);
  assert.ok(
    ourEvents.every((e) => e.tgid === transfer.pid),
    'every event names the sender',
  );
  t.diagnostic(
    `events: ${ourEvents.length} for the connection, ${ourEvents.reduce((n, e) => n + e.segments, 0)} segments; stats ${JSON.stringify(session.stats())}`,
  );
});
