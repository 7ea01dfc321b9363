// The agent's Prometheus metrics, served on --metrics-port.
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SymbolizerStats } from '@kiln/symbolizer';
import type { SessionStats, SignalSessionStats, SpanSessionStats } from './native.js';
import type { SignalCaptureStats } from './signal-capture.js';
import type { SpanStats } from './spans/tracker.js';

export class AgentMetrics {
  readonly registry = new Registry();
  readonly #samples = new Counter({
    name: 'kiln_agent_samples_total',
    help: 'CPU samples taken by the kernel sampler',
    registers: [this.registry],
  });
  readonly #lost = new Counter({
    name: 'kiln_agent_samples_lost_total',
    help: 'samples, stacks or process events lost in the kernel, by reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly #drain = new Histogram({
    name: 'kiln_agent_drain_seconds',
    help: 'time to drain, symbolize and aggregate one interval',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly #cache = new Counter({
    name: 'kiln_agent_symbolize_cache_total',
    help: 'symbolization cache lookups, by result',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly #errors = new Counter({
    name: 'kiln_agent_symbolize_errors_total',
    help: 'symbolization errors, by kind',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly #unknown = new Gauge({
    name: 'kiln_agent_unknown_frames_ratio',
    help: 'share of frames that could not be resolved, since start',
    registers: [this.registry],
  });
  readonly #elfBytes = new Gauge({
    name: 'kiln_agent_symbolizer_cache_bytes',
    help: 'memory held by the ELF/DWARF files the symbolizer keeps open (bounded)',
    registers: [this.registry],
  });
  readonly #elfFiles = new Gauge({
    name: 'kiln_agent_symbolizer_cache_files',
    help: 'ELF files the symbolizer keeps open',
    registers: [this.registry],
  });
  readonly #cpus = new Gauge({
    name: 'kiln_agent_cpus_sampled',
    help: 'CPUs with an attached sampler; failures are counted in kiln_agent_cpus_failed',
    registers: [this.registry],
  });
  readonly #cpusFailed = new Gauge({
    name: 'kiln_agent_cpus_failed',
    help: 'online CPUs the sampler could not attach to',
    registers: [this.registry],
  });
  readonly #cpusLost = new Counter({
    name: 'kiln_agent_cpu_samplers_lost_total',
    help: 'CPU samplers closed because CPU hotplug took their CPU offline or stopped their perf event (opened again once the CPU is online)',
    registers: [this.registry],
  });
  readonly #processes = new Gauge({
    name: 'kiln_agent_processes_tracked',
    help: 'processes the agent holds labels and memory maps for (forgotten at the drain after they exit)',
    registers: [this.registry],
  });
  readonly #written = new Counter({
    name: 'kiln_agent_profiles_written_total',
    help: 'profiles written or pushed',
    labelNames: ['sink'],
    registers: [this.registry],
  });
  readonly #dropped = new Counter({
    name: 'kiln_agent_profiles_dropped_total',
    help: 'interval profiles dropped because the server queue was full',
    registers: [this.registry],
  });
  readonly #spansSent = new Counter({
    name: 'kiln_agent_spans_sent_total',
    help: 'spans the server took',
    registers: [this.registry],
  });
  readonly #socketEvents = new Counter({
    name: 'kiln_agent_socket_events_total',
    help: 'socket events span capture took from the kernel',
    registers: [this.registry],
  });
  readonly #socketEventsLost = new Counter({
    name: 'kiln_agent_socket_events_lost_total',
    help: 'socket events, connections or thread stamps span capture lost, by reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly #spansMade = new Counter({
    name: 'kiln_agent_spans_total',
    help: 'spans made from socket events, by protocol',
    labelNames: ['protocol'],
    registers: [this.registry],
  });
  readonly #unparsed = new Counter({
    name: 'kiln_agent_span_payloads_unparsed_total',
    help: 'payloads no protocol parser could read (garbage, TLS, unknown protocols), and event records that did not decode',
    labelNames: ['what'],
    registers: [this.registry],
  });
  readonly #spanEvictions = new Counter({
    name: 'kiln_agent_span_evictions_total',
    help: 'connections or queued requests the span tracker forgot to stay within its bounds, and responses cut by a close',
    labelNames: ['what'],
    registers: [this.registry],
  });
  readonly #spansDropped = new Counter({
    name: 'kiln_agent_spans_dropped_total',
    help: 'spans dropped because the server queue was full',
    registers: [this.registry],
  });

  readonly #signalEvents = new Counter({
    name: 'kiln_agent_signal_events_total',
    help: 'what the scheduler and retransmit probes counted in the kernel, by kind (switches, waits, episodes, retransmit hits; retransmits not sent or with no known owner)',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly #signalEventsLost = new Counter({
    name: 'kiln_agent_signal_events_lost_total',
    help: 'episodes, retransmit events, cgroup histograms, span times or socket owners the signal probes or the agent lost, by reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly #signalsSent = new Counter({
    name: 'kiln_agent_signal_records_sent_total',
    help: 'signal records (cgroup waits, episodes, cpu.stat deltas, connections) the server took',
    registers: [this.registry],
  });
  readonly #signalsDropped = new Counter({
    name: 'kiln_agent_signal_records_dropped_total',
    help: 'signal records dropped because the server queue was full',
    registers: [this.registry],
  });
  readonly #spanBreakdowns = new Counter({
    name: 'kiln_agent_span_breakdowns_total',
    help: 'server spans given a latency breakdown from the scheduler probe',
    registers: [this.registry],
  });

  /** Last totals seen, so counters advance by the difference of the sources' running totals. */
  readonly #last = new Map<Counter, Map<string, number>>();

  #advance(counter: Counter, labels: Record<string, string>, total: number): void {
    const seen = this.#last.get(counter) ?? new Map<string, number>();
    const key = JSON.stringify(labels);
    const delta = total - (seen.get(key) ?? 0);
    if (delta > 0) counter.inc(labels, delta);
    seen.set(key, total);
    this.#last.set(counter, seen);
  }

  constructor() {
    // The event-loop lag monitor samples every 10 ms by default: 100 wake-ups a second would be
    // most of an idle agent's CPU. Once a second is plenty for an agent.
    collectDefaultMetrics({ register: this.registry, prefix: 'kiln_agent_', eventLoopMonitoringPrecision: 1000 });
  }

  observeDrain(seconds: number, session: SessionStats, symbols: SymbolizerStats, processes: number): void {
    this.#drain.observe(seconds);
    this.#processes.set(processes);
    this.#advance(this.#samples, {}, session.samples);
    this.#advance(this.#lost, { reason: 'counts_map_full' }, session.countsFull);
    this.#advance(this.#lost, { reason: 'stacks_map_full' }, session.stacksFull);
    this.#advance(this.#lost, { reason: 'user_stack_error' }, session.userStackErrors);
    this.#advance(this.#lost, { reason: 'kernel_stack_error' }, session.kernelStackErrors);
    this.#advance(this.#lost, { reason: 'process_events_lost' }, session.eventsLost);
    this.#cpus.set(session.cpusAttached);
    this.#cpusFailed.set(session.cpusFailed);
    this.#advance(this.#cpusLost, {}, session.cpusLost);
    this.#advance(this.#cache, { result: 'hit' }, symbols.cacheHits);
    this.#advance(this.#cache, { result: 'miss' }, symbols.cacheMisses);
    for (const [kind, n] of Object.entries(symbols.errorsByKind)) this.#advance(this.#errors, { kind }, n);
    this.#elfBytes.set(symbols.elfBytes);
    this.#elfFiles.set(symbols.elfFiles);
    const frames = symbols.unknownFrames + symbols.resolvedFrames;
    this.#unknown.set(frames === 0 ? 0 : symbols.unknownFrames / frames);
  }

  observeSpans(kernel: SpanSessionStats, tracker: SpanStats, malformedRecords: number): void {
    this.#advance(this.#socketEvents, {}, kernel.events);
    this.#advance(this.#socketEventsLost, { reason: 'ring_buffer_full' }, kernel.eventsLost);
    this.#advance(this.#socketEventsLost, { reason: 'connections_map_full' }, kernel.connsFull);
    this.#advance(this.#socketEventsLost, { reason: 'threads_map_full' }, kernel.threadsFull);
    this.#advance(this.#socketEventsLost, { reason: 'payload_unreadable' }, kernel.payloadErrors);
    for (const [protocol, n] of Object.entries(tracker.spans)) this.#advance(this.#spansMade, { protocol }, n);
    this.#advance(this.#unparsed, { what: 'payload' }, tracker.unparsed);
    this.#advance(this.#unparsed, { what: 'event_record' }, malformedRecords);
    this.#advance(this.#spanEvictions, { what: 'connection' }, tracker.evictedConnections);
    this.#advance(this.#spanEvictions, { what: 'request' }, tracker.evictedRequests);
    this.#advance(this.#spanEvictions, { what: 'closed_mid_response' }, tracker.closedMidResponse);
  }

  observeSignals(kernel: SignalSessionStats, capture: SignalCaptureStats): void {
    this.#advance(this.#signalEvents, { kind: 'switch' }, kernel.switches);
    this.#advance(this.#signalEvents, { kind: 'wait' }, kernel.waits);
    this.#advance(this.#signalEvents, { kind: 'episode' }, kernel.episodes);
    this.#advance(this.#signalEvents, { kind: 'retransmit_hit' }, kernel.retransmitHits);
    this.#advance(this.#signalEvents, { kind: 'retransmit_failed' }, kernel.retransmitsFailed);
    this.#advance(this.#signalEvents, { kind: 'retransmit_no_owner' }, kernel.retransmitsNoOwner);
    this.#advance(this.#signalEventsLost, { reason: 'episodes_ring_full' }, kernel.episodesLost);
    this.#advance(this.#signalEventsLost, { reason: 'cgroups_map_full' }, kernel.cgroupsFull);
    this.#advance(this.#signalEventsLost, { reason: 'spans_map_full' }, kernel.spansFull);
    this.#advance(this.#signalEventsLost, { reason: 'connections_map_full' }, kernel.retransmitConnsFull);
    this.#advance(this.#signalEventsLost, { reason: 'owners_map_full' }, kernel.ownersFull);
    this.#advance(this.#signalEventsLost, { reason: 'retransmit_ring_full' }, kernel.retransmitEventsLost);
    this.#advance(this.#signalEventsLost, { reason: 'malformed_record' }, capture.malformedRecords);
    this.#advance(this.#signalEventsLost, { reason: 'episodes_over_batch_limit' }, capture.episodesDropped);
    this.#advance(this.#spanBreakdowns, {}, capture.spanBreakdowns);
  }

  signalsSent(n: number): void {
    this.#signalsSent.inc(n);
  }

  signalsDropped(n: number): void {
    this.#signalsDropped.inc(n);
  }

  profileWritten(sink: 'file' | 'server'): void {
    this.#written.inc({ sink });
  }

  profileDropped(): void {
    this.#dropped.inc();
  }

  spansSent(n: number): void {
    this.#spansSent.inc(n);
  }

  spansDropped(n: number): void {
    this.#spansDropped.inc(n);
  }

  /** Serves /metrics on 0.0.0.0:port. */
  async listen(port: number): Promise<Server> {
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found: try /metrics"}');
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    });
    server.listen(port);
    await once(server, 'listening');
    return server;
  }
}
