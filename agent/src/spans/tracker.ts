// Socket events in, spans out. Per connection: detect the protocol, parse each direction, pair
// requests with responses in order (pipelining answers in request order in every protocol parsed
// here), and end a span at the last response byte, known when the parser says the response is
// complete, when the next request or response starts, when the connection closes, or when the
// connection has been quiet for a while after the response (flush).
import type { AgentSpan } from '@kiln/api/http';
import { detectProtocol } from './detect.js';
import { randomSpanId, randomTraceId, spanIdHex } from './ids.js';
import type { ParsedRequest, Protocol, ProtocolParser, ResponseMark } from './protocol.js';
import type { SocketEvent } from './socket-event.js';
import { ThreadWindows } from './thread-windows.js';

/** A server span whose id the kernel drew: what the scheduler and retransmit probes know it by. */
export interface KernelSpan {
  id: bigint;
  /** CLOCK_MONOTONIC ns of its first request byte read and its last response byte written. */
  startNs: bigint;
  endNs: bigint;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

export interface SpanTrackerOptions {
  /** Added to CLOCK_MONOTONIC nanoseconds to get unix nanoseconds. */
  monotonicToUnixNs: bigint;
  /** The labels the process's profiles carry (service, version, node, container …). */
  labelsOf: (pid: number) => Record<string, string>;
  /** Each finished span; `kernel` for a server span whose id the kernel drew (its thread's CPU samples carry it). */
  onSpan: (span: AgentSpan, kernel: KernelSpan | undefined) => void;
  /** A response that no parser can see the end of is over after this much silence (default 1 s). */
  quietNs?: bigint;
  /** Connections followed at once; the least recently active is forgotten first (default 4096). */
  maxConnections?: number;
  /** Requests waiting for their response per connection (default 256). */
  maxQueuedRequests?: number;
  /** Server spans remembered for parenting client calls to their trace (default 16384). */
  maxKnownTraces?: number;
}

export interface SpanStats {
  spans: Record<Protocol, number>;
  /** Payloads, or their remainders, that no parser could read: garbage, TLS, unknown protocols. */
  unparsed: number;
  /** Connections forgotten for room (maxConnections), their waiting requests with them. */
  evictedConnections: number;
  /** Requests dropped from a full queue (maxQueuedRequests) before their response. */
  evictedRequests: number;
  /** Spans ended by a close before their response was complete (or had begun): status error. */
  closedMidResponse: number;
}

/** Events on a new connection before it is declared unknown and ignored. */
const DETECTION_ATTEMPTS = 4;

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

interface Pending {
  request: ParsedRequest;
  kind: 'server' | 'client';
  spanId: string;
  /** The kernel's id of a server span it stamped the thread with; 0n otherwise. */
  kernelSpanId: bigint;
  traceId: string;
  parentSpanId: string;
  /** pid:tid of the thread that read a server request. */
  thread: string;
  ends: ResponseMark['ends'];
  /** Its last response byte so far; the request's start until a response begins. */
  endNs: bigint;
  httpStatus: number | undefined;
  error: { code: string; message: string } | undefined;
  attributes: Record<string, string>;
  /** The process's labels, taken when the request is seen: a process can exit before its span ends. */
  labels: Record<string, string>;
}

interface Connection {
  role: 'server' | 'client';
  parser: ProtocolParser | undefined;
  /** Events held until the protocol is known (a first message split over small writes); undefined: unknown for good. */
  undetected: SocketEvent[] | undefined;
  unparsedSeen: number;
  queue: Pending[];
  /** The request whose response bytes are arriving, until its response is over. */
  answering: Pending | undefined;
  lastKernelSpanId: bigint;
  peerAddress: string;
  peerPort: number;
  localAddress: string;
  localPort: number;
  /** As the span attribute carries it. */
  peerPortText: string;
}

/**
 * The agent's span pipeline: `push` every decoded socket event in ring-buffer order, call `flush`
 * now and then with the monotonic clock, and spans arrive through `onSpan`; `stats` feeds /metrics.
 */
export class SpanTracker {
  readonly stats: SpanStats = {
    spans: { http: 0, postgresql: 0, redis: 0, mysql: 0 },
    unparsed: 0,
    evictedConnections: 0,
    evictedRequests: 0,
    closedMidResponse: 0,
  };
  #conns = new Map<bigint, Connection>();
  #threads = new ThreadWindows();
  /** Server span id -> its trace id: a client call made while serving it joins its trace. */
  #traces = new Map<string, string>();
  /**
   * #traces' keys in insertion order, a ring: the oldest is forgotten first. Map.keys().next()
   * after deleting from the front walks every deleted slot until V8 rehashes, which was the
   * tracker's largest cost per span.
   */
  #traceOrder: string[] = [];
  #traceNext = 0;
  readonly #quietNs: bigint;
  readonly #maxConnections: number;
  readonly #maxQueued: number;
  readonly #maxTraces: number;

  constructor(private readonly options: SpanTrackerOptions) {
    this.#quietNs = options.quietNs ?? 1_000_000_000n;
    this.#maxConnections = Math.max(1, options.maxConnections ?? 4096);
    this.#maxQueued = options.maxQueuedRequests ?? 256;
    this.#maxTraces = options.maxKnownTraces ?? 16384;
  }

  /** Events must come in kernel order (the ring buffer's). */
  push(event: SocketEvent): void {
    if (event.kind === 'close') {
      const conn = this.#conns.get(event.connId);
      if (conn) this.#close(conn, event.tsNs);
      this.#conns.delete(event.connId);
      return;
    }
    const conn = this.#connection(event);
    if (conn.parser) this.#parse(conn, conn.parser, event);
    else this.#detect(conn, event);
  }

  /** Detects the protocol from the bytes so far in this event's direction, then parses them all. */
  #detect(conn: Connection, event: SocketEvent): void {
    if (!conn.undetected) return;
    conn.undetected.push(event);
    const fromClient = this.#fromClient(conn, event);
    const same = conn.undetected.filter((e) => this.#fromClient(conn, e) === fromClient);
    const payload = concat(same.map((e) => e.payload));
    const bytes = same.reduce((n, e) => n + Math.max(e.bytes, e.payload.length), 0);
    const serverPort = conn.role === 'server' ? event.localPort : event.remotePort;
    const parser = detectProtocol(payload, bytes, fromClient, serverPort);
    if (parser) {
      conn.parser = parser;
      const held = conn.undetected;
      conn.undetected = [];
      for (const e of held) this.#parse(conn, parser, e);
    } else if (conn.undetected.length >= DETECTION_ATTEMPTS) {
      this.stats.unparsed += conn.undetected.filter((e) => e.payload.length > 0).length;
      conn.undetected = undefined;
    }
  }

  #fromClient(conn: Connection, event: SocketEvent): boolean {
    return (conn.role === 'server') === (event.kind === 'read');
  }

  #parse(conn: Connection, parser: ProtocolParser, event: SocketEvent): void {
    if (parser.opaque) return;
    if (this.#fromClient(conn, event)) for (const request of parser.fromClient(event)) this.#request(conn, request);
    else this.#response(conn, event.tsNs, parser.fromServer(event));
    this.stats.unparsed += parser.unparsed - conn.unparsedSeen;
    conn.unparsedSeen = parser.unparsed;
  }

  /** Ends the responses no parser saw the end of, quiet for the configured time at `nowNs` (monotonic). */
  flush(nowNs: bigint): void {
    for (const conn of this.#conns.values()) {
      if (conn.answering && conn.answering.endNs + this.#quietNs <= nowNs) {
        this.#finish(conn.answering, conn);
        conn.answering = undefined;
      }
    }
  }

  #connection(event: SocketEvent): Connection {
    let conn = this.#conns.get(event.connId);
    if (conn) {
      // Map order is recency: the first entry is the one to evict.
      this.#conns.delete(event.connId);
      this.#conns.set(event.connId, conn);
      return conn;
    }
    if (this.#conns.size >= this.#maxConnections) this.#evictOldest();
    conn = {
      // The kernel's role, or (not yet known to it) this process's first move: who reads first serves.
      role: event.role === 'unknown' ? (event.kind === 'read' ? 'server' : 'client') : event.role,
      parser: undefined,
      undetected: [],
      unparsedSeen: 0,
      queue: [],
      answering: undefined,
      lastKernelSpanId: 0n,
      peerAddress: event.remoteAddr,
      peerPort: event.remotePort,
      localAddress: event.localAddr,
      localPort: event.localPort,
      peerPortText: String(event.remotePort),
    };
    this.#conns.set(event.connId, conn);
    return conn;
  }

  #evictOldest(): void {
    const [id, conn] = this.#conns.entries().next().value!;
    this.#conns.delete(id);
    this.stats.evictedConnections++;
    for (const pending of [...(conn.answering ? [conn.answering] : []), ...conn.queue]) this.#forget(pending);
  }

  #forget(pending: Pending): void {
    if (pending.kind === 'server') this.#threads.drop(pending.thread, pending.spanId);
  }

  #request(conn: Connection, request: ParsedRequest): void {
    // The previous response is over when the next request starts.
    if (conn.answering) {
      this.#finish(conn.answering, conn);
      conn.answering = undefined;
    }
    const { first } = request;
    const thread = `${first.pid}:${first.tid}`;
    let pending: Pending;
    if (conn.role === 'server') {
      // The kernel drew this id when the request's first bytes were read and stamped the thread's CPU samples with it.
      const stamped = first.spanId !== 0n && first.spanId !== conn.lastKernelSpanId;
      if (stamped) conn.lastKernelSpanId = first.spanId;
      const spanId = stamped ? spanIdHex(first.spanId) : randomSpanId();
      const traceId = request.traceparent?.traceId ?? randomTraceId();
      pending = this.#pending(request, 'server', spanId, traceId, request.traceparent?.parentSpanId ?? '', thread);
      if (stamped) pending.kernelSpanId = first.spanId;
      if (!request.silent) {
        this.#threads.open(thread, spanId, first.tsNs, stamped);
        this.#rememberTrace(spanId, traceId);
      }
    } else {
      const parent = first.spanId === 0n ? '' : spanIdHex(first.spanId);
      const traceId = (parent && this.#traces.get(parent)) || randomTraceId();
      pending = this.#pending(request, 'client', randomSpanId(), traceId, parent, thread);
    }
    if (conn.queue.length >= this.#maxQueued) {
      this.#forget(conn.queue.shift()!);
      this.stats.evictedRequests++;
    }
    conn.queue.push(pending);
  }

  #pending(request: ParsedRequest, kind: Pending['kind'], spanId: string, traceId: string, parentSpanId: string, thread: string): Pending {
    return {
      request,
      kind,
      spanId,
      kernelSpanId: 0n,
      traceId,
      parentSpanId,
      thread,
      ends: false,
      endNs: request.first.tsNs,
      httpStatus: undefined,
      error: undefined,
      attributes: {},
      labels: this.options.labelsOf(request.first.pid),
    };
  }

  #rememberTrace(spanId: string, traceId: string): void {
    if (this.#maxTraces <= 0) return;
    if (!this.#traces.has(spanId)) {
      if (this.#traceOrder.length < this.#maxTraces) this.#traceOrder.push(spanId);
      else {
        this.#traces.delete(this.#traceOrder[this.#traceNext]!);
        this.#traceOrder[this.#traceNext] = spanId;
        this.#traceNext = (this.#traceNext + 1) % this.#maxTraces;
      }
    }
    this.#traces.set(spanId, traceId);
  }

  #response(conn: Connection, tsNs: bigint, marks: ResponseMark[]): void {
    // Bytes before the first mark continue the response in progress; a write that begins the next
    // response does not extend the previous one, which ended at its own last bytes.
    if (conn.answering && marks[0]?.begins !== true) conn.answering.endNs = tsNs;
    for (const mark of marks) {
      if (mark.begins) {
        if (conn.answering) this.#finish(conn.answering, conn);
        // Undefined for a response to nothing asked: the MySQL greeting, or a request from before capture began.
        conn.answering = conn.queue.shift();
        if (!conn.answering) continue;
        conn.answering.endNs = tsNs;
      }
      const answering = conn.answering;
      if (!answering) continue;
      if (mark.httpStatus !== undefined) answering.httpStatus = mark.httpStatus;
      answering.error ??= mark.error;
      Object.assign(answering.attributes, mark.attributes);
      answering.ends = mark.ends;
      if (mark.ends === true) {
        this.#finish(answering, conn);
        conn.answering = undefined;
      }
    }
  }

  #close(conn: Connection, tsNs: bigint): void {
    if (conn.answering) {
      const cut = conn.answering.ends === false;
      if (cut) this.stats.closedMidResponse++;
      this.#finish(conn.answering, conn, cut ? 'connection closed mid-response' : undefined);
    }
    for (const pending of conn.queue) {
      pending.endNs = tsNs;
      this.stats.closedMidResponse++;
      this.#finish(pending, conn, 'connection closed before the response');
    }
    conn.answering = undefined;
    conn.queue = [];
  }

  #finish(pending: Pending, conn: Connection, closedMessage?: string): void {
    const { request } = pending;
    if (request.silent) return;
    // Object.assign, not spreads: the builtin copy is several times cheaper in the unoptimized
    // code the agent runs (bin/kiln.js), and the keys come out in the same order.
    const attributes: Record<string, string> = Object.assign({}, request.attributes, pending.attributes);
    attributes['network.peer.address'] = conn.peerAddress;
    attributes['network.peer.port'] = conn.peerPortText;
    attributes['process.pid'] = String(request.first.pid);
    attributes['thread.id'] = String(request.first.tid);
    let status: AgentSpan['status'] = 'unset';
    let statusMessage = '';
    if (pending.httpStatus !== undefined) {
      attributes['http.response.status_code'] = String(pending.httpStatus);
      if (pending.httpStatus >= (pending.kind === 'server' ? 500 : 400)) {
        status = 'error';
        attributes['error.type'] = String(pending.httpStatus);
      }
    }
    if (pending.error) {
      status = 'error';
      statusMessage = pending.error.message;
      attributes['error.type'] = pending.error.code || 'error';
    }
    if (closedMessage) {
      status = 'error';
      statusMessage = closedMessage;
      attributes['error.type'] ??= 'connection_closed';
    }
    if (pending.kind === 'server') {
      const shared = this.#threads.close(pending.thread, pending.spanId, pending.endNs);
      if (shared) {
        attributes['kiln.attribution'] = shared.attribution;
        attributes['kiln.overlapped'] = String(shared.overlapped);
        if (shared.stamps.length > 0) attributes['kiln.stamps'] = shared.stamps.join(',');
      }
    }
    const protocol = conn.parser?.protocol;
    if (protocol) this.stats.spans[protocol]++;
    const kernel: KernelSpan | undefined =
      pending.kernelSpanId === 0n
        ? undefined
        : {
            id: pending.kernelSpanId,
            startNs: request.first.tsNs,
            endNs: pending.endNs,
            localAddress: conn.localAddress,
            localPort: conn.localPort,
            remoteAddress: conn.peerAddress,
            remotePort: conn.peerPort,
          };
    this.options.onSpan(
      {
        traceId: pending.traceId,
        spanId: pending.spanId,
        parentSpanId: pending.parentSpanId,
        name: request.name,
        kind: pending.kind,
        startUnixNano: (request.first.tsNs + this.options.monotonicToUnixNs).toString(),
        // Timestamps taken on different CPUs can disagree by a little; a duration is never negative.
        durationNs: Math.max(0, Number(pending.endNs - request.first.tsNs)),
        status,
        statusMessage,
        labels: pending.labels,
        attributes,
      },
      kernel,
    );
  }
}
