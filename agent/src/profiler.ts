// The CPU profiler: sampler → process capture → symbolization → pprof.
import type { Logger } from 'pino';
import { Symbolizer } from '@kiln/symbolizer';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import type { AgentMetrics } from './metrics.js';
import { KERNEL_MAPPING, type PprofBuilder, type SymbolizedAddress } from './pprof-builder.js';
import { readProcessInfo, ServiceVersions, type KernelIdentity, type ProcessInfo } from './process-info.js';
import { relabelRules, type Relabel } from './relabel.js';
import type { NativeSpanSession } from './native.js';
import { CpuSampler, type Drained, type SampleBatch, type StackTable } from './sampler.js';

export interface ProfilerOptions {
  frequency: number;
  pids: number[];
  includeIdle: boolean;
  /** The process-event ring buffer's size (tests make it small to lose events). */
  eventsBytes?: number;
  /** Span capture: samples taken while a thread serves a request carry its span (label `span_id`). */
  spans?: NativeSpanSession;
  /** The drain interval: a process's maps are re-read for an unknown address at most about once per interval. */
  intervalMs?: number;
  node?: string;
  /** The config's relabel rules, applied to every process's labels (default: none). */
  relabel?: Relabel;
  logger: Logger;
  metrics?: AgentMetrics;
}

const EFAULT = -14;

function userKey(samples: SampleBatch, i: number): string {
  return `${samples.tgid[i]}:${samples.generation[i]}:${samples.userStack[i]}:${samples.userStackError[i]}`;
}

export class Profiler {
  readonly #sampler: CpuSampler;
  readonly #symbolizer: Symbolizer;
  /** Captured processes by pid, then generation (bumped at each exec). */
  readonly #processes = new Map<number, Map<number, ProcessInfo>>();
  readonly #versions = new ServiceVersions();
  /** Processes that exited: forgotten after the drain that follows their exit. */
  #exited = new Set<number>();
  /**
   * The processes forgotten at the last drain, still named: a sample a process takes while it
   * finishes exiting can be counted after that drain's switch of map generations.
   */
  #forgotten = new Map<number, Map<number, ProcessInfo>>();
  #eventsLostSwept = 0;
  readonly #labelsOf = new WeakMap<ProcessInfo, ReadonlyArray<readonly [string, string]>>();
  readonly #labelRecords = new WeakMap<ProcessInfo, Record<string, string>>();
  readonly #opts: ProfilerOptions;
  readonly #node: string;
  readonly #relabel: Relabel;

  constructor(opts: ProfilerOptions) {
    this.#opts = opts;
    this.#node = opts.node ?? hostname();
    this.#relabel = opts.relabel ?? relabelRules({});
    this.#sampler = new CpuSampler({
      frequency: opts.frequency,
      pids: opts.pids,
      includeIdle: opts.includeIdle,
      eventsBytes: opts.eventsBytes,
      spans: opts.spans,
    });
    this.#symbolizer = new Symbolizer({
      logger: opts.logger,
      // Half an interval: timers drift, and a dlopen is still seen in the next interval.
      mapsRefreshMs: opts.intervalMs !== undefined ? Math.max(1000, opts.intervalMs / 2) : undefined,
    });
    // Capture a new process ~250 ms after its first sample or exec, so one that lives a second
    // is still symbolized after it exits, and one that just exec'd has mapped its libraries.
    // Event-driven: a timer polling the ring every 250 ms cost more than everything else the
    // agent does between drains.
    this.#sampler.watchEvents(() => {
      try {
        this.#handleEvents();
      } catch (err) {
        opts.logger.error({ err }, 'cannot read process events');
      }
    }, 250);
  }

  #capture(pid: number, generation: number, kernel: KernelIdentity | undefined): ProcessInfo {
    // The executable's build-id comes from the snapshot's ELF state instead of opening it again.
    const info = readProcessInfo(pid, generation, kernel, '/proc', (exe) =>
      this.#symbolizer.snapshotProcess(pid, generation) ? this.#symbolizer.mappedBuildId(pid, exe) : undefined,
    );
    this.#versions.fill(info);
    let generations = this.#processes.get(pid);
    if (generations === undefined) this.#processes.set(pid, (generations = new Map<number, ProcessInfo>()));
    generations.set(generation, info);
    if (!info.unreadable) this.#symbolizer.snapshotProcess(pid, generation);
    return info;
  }

  #handleEvents(): void {
    for (const e of this.#sampler.events()) {
      if (e.kind === 'exit') this.#exited.add(e.pid);
      else this.#capture(e.pid, e.generation, e);
    }
  }

  /** Drains the kernel's counts into `builder`; returns the number of samples added. */
  collect(builder: PprofBuilder): number {
    const t0 = performance.now();
    this.#handleEvents();
    const t1 = performance.now();
    const drained = this.#sampler.drain();
    const exited = this.#exited;
    this.#exited = new Set();
    // A sample counted just before the switch of map generations may have made its event after
    // the read above: that event names a process that may be gone by now.
    this.#handleEvents();
    const stats = this.#sampler.stats();
    this.#sweepIfEventsLost(stats.eventsLost, exited);
    const t2 = performance.now();
    const added = this.#addSamples(drained, builder, exited);
    const t3 = performance.now();
    this.#forgotten = new Map();
    for (const pid of exited) this.#forget(pid);
    this.#opts.metrics?.observeDrain((t3 - t1) / 1000, stats, this.#symbolizer.stats(), this.#processes.size);
    this.#opts.logger.debug(
      {
        rows: drained.samples.length,
        stacks: drained.stacks.size,
        samples: added,
        processes: this.#processes.size,
        eventsMs: t1 - t0,
        drainMs: t2 - t1,
        symbolizeAndBuildMs: t3 - t2,
      },
      'interval collected',
    );
    return added;
  }

  /** The processes the agent holds labels and maps for (exited ones are forgotten at the next drain). */
  trackedPids(): number[] {
    return [...this.#processes.keys()];
  }

  /**
   * When the ring buffer overflowed, exit events were lost with the rest: processes no longer in
   * /proc join `exited`, or they would be held forever.
   */
  #sweepIfEventsLost(lost: number, exited: Set<number>): void {
    if (lost === this.#eventsLostSwept) return;
    this.#eventsLostSwept = lost;
    for (const pid of this.#processes.keys()) if (!existsSync(`/proc/${pid}`)) exited.add(pid);
  }

  #forget(pid: number): void {
    const generations = this.#processes.get(pid);
    if (generations !== undefined) this.#forgotten.set(pid, generations);
    this.#processes.delete(pid);
    this.#symbolizer.forgetProcess(pid);
  }

  /** Processes first met here that are already gone join `exited`: no exit event will forget them. */
  #addSamples({ samples, stacks }: Drained, builder: PprofBuilder, exited: Set<number>): number {
    const keys = Array.from({ length: samples.length }, (_, i) => userKey(samples, i));
    const user = this.#userLocations(samples, keys, stacks, builder);
    const kernelFrames = new Map<bigint, number[]>();
    // Per drain: a span lives for one request, so its labels are not worth keeping longer.
    const spanLabels = new Map<string, ReadonlyArray<readonly [string, string]>>();
    let added = 0;
    for (let i = 0; i < samples.length; i++) {
      const pid = samples.tgid[i]!;
      const generation = samples.generation[i]!;
      let info = this.#processes.get(pid)?.get(generation) ?? this.#forgotten.get(pid)?.get(generation);
      if (info === undefined) {
        info = this.#capture(pid, generation, undefined);
        if (info.unreadable) exited.add(pid);
      }

      const kHash = samples.kernelStack[i]!;
      let kernel = kernelFrames.get(kHash);
      if (kernel === undefined) {
        kernel = this.#kernelLocations(stacks.get(kHash), builder);
        kernelFrames.set(kHash, kernel);
      }
      const count = samples.count[i]!;
      const span = samples.spanId[i]!;
      const labels = span === 0n ? this.#labels(info) : this.#spanLabels(info, span, spanLabels);
      builder.addSample(kernel.concat(user.get(keys[i]!) ?? []), labels, count);
      added += count;
    }
    return added;
  }

  #kernelLocations(frames: BigUint64Array | undefined, builder: PprofBuilder): number[] {
    if (frames === undefined || frames.length === 0) return [];
    // Every frame but the leaf is a return address: look up the call instruction before it.
    const lookups = Array.from(frames, (a, i) => (i === 0 ? a : a - 1n));
    const symbols = this.#symbolizer.symbolizeKernel(lookups);
    return Array.from(frames, (address, i) =>
      builder.location({
        address,
        mapping: KERNEL_MAPPING,
        frames: [symbols[i] ?? { name: `[unknown] 0x${address.toString(16)}`, inlined: false }],
      }),
    );
  }

  /** Location ids of every distinct user stack in the batch, symbolized with one call per process. */
  #userLocations(samples: SampleBatch, keys: string[], stacks: StackTable, builder: PprofBuilder): Map<string, number[]> {
    const out = new Map<string, number[]>();
    const byProcess = new Map<string, { pid: number; generation: number; keys: string[]; stacks: BigUint64Array[] }>();
    for (let i = 0; i < samples.length; i++) {
      const key = keys[i]!;
      if (out.has(key)) continue;
      const frames = stacks.get(samples.userStack[i]!);
      if (frames === undefined || frames.length === 0) {
        // EFAULT: no user stack (a kernel thread). Anything else is a user stack we failed to take.
        const error = samples.userStackError[i]!;
        out.set(
          key,
          error === EFAULT || error === 0
            ? []
            : [builder.location({ address: 0, frames: [{ name: `[user stack unavailable: errno ${-error}]`, inlined: false }] })],
        );
        continue;
      }
      out.set(key, []);
      const pkey = `${samples.tgid[i]!}:${samples.generation[i]!}`;
      let group = byProcess.get(pkey);
      if (group === undefined) {
        group = { pid: samples.tgid[i]!, generation: samples.generation[i]!, keys: [], stacks: [] };
        byProcess.set(pkey, group);
      }
      group.keys.push(key);
      group.stacks.push(frames);
    }
    for (const group of byProcess.values()) {
      const addresses: number[] = [];
      const isReturn: boolean[] = [];
      for (const frames of group.stacks) {
        frames.forEach((a, i) => {
          addresses.push(Number(a));
          isReturn.push(i > 0);
        });
      }
      const resolved = this.#symbolizer.symbolizeUser(group.pid, addresses, group.generation, isReturn);
      let next = 0;
      group.stacks.forEach((frames, s) => {
        const ids = Array.from(frames, () => {
          const address = addresses[next]!;
          const r = resolved[next++];
          const loc: SymbolizedAddress = {
            address,
            mapping: r?.mapping,
            frames: r?.frames ?? [{ name: `[unknown] 0x${address.toString(16)}`, inlined: false }],
          };
          return builder.location(loc);
        });
        out.set(group.keys[s]!, ids);
      });
    }
    return out;
  }

  /**
   * The same array for a process every time: the builder caches what it derives from it. The one
   * place relabel rules apply: profiles take these labels, spans and signals take them through
   * labelsOf.
   */
  #labels(info: ProcessInfo): ReadonlyArray<readonly [string, string]> {
    let labels = this.#labelsOf.get(info);
    if (labels === undefined) {
      labels = this.#relabel([
        ['service', info.service],
        ['version', info.version],
        ['node', this.#node],
        ['pid', String(info.pid)],
        ['comm', info.comm],
        ['exe', info.exe],
        ['container_id', info.containerId],
      ]);
      this.#labelsOf.set(info, labels);
    }
    return labels;
  }

  /**
   * The labels a process's CPU samples carry, for its spans: from the process the sampler met, or
   * read now for one it has not sampled yet (a server that was idle until its first request).
   */
  labelsOf(pid: number): Record<string, string> {
    const generations = this.#processes.get(pid);
    let info: ProcessInfo | undefined;
    for (const i of generations?.values() ?? []) info = i;
    info ??= this.#capture(pid, 0, undefined);
    let record = this.#labelRecords.get(info);
    if (record === undefined) this.#labelRecords.set(info, (record = Object.fromEntries(this.#labels(info).filter(([, v]) => v !== ''))));
    return record;
  }

  /** A process's labels plus `span_id` (16 lowercase hex digits), one array per process and span in a drain. */
  #spanLabels(
    info: ProcessInfo,
    span: bigint,
    cache: Map<string, ReadonlyArray<readonly [string, string]>>,
  ): ReadonlyArray<readonly [string, string]> {
    const key = `${info.pid}:${info.generation}:${span}`;
    let labels = cache.get(key);
    if (labels === undefined) {
      labels = [...this.#labels(info), ['span_id', span.toString(16).padStart(16, '0')]];
      cache.set(key, labels);
    }
    return labels;
  }

  /** Stops sampling and drains both map generations into `builder`. */
  stop(builder: PprofBuilder): number {
    this.#sampler.stop();
    const added = this.collect(builder) + this.collect(builder);
    return added;
  }

  stats(): ReturnType<CpuSampler['stats']> {
    return this.#sampler.stats();
  }

  close(): void {
    this.#sampler.close();
  }
}
