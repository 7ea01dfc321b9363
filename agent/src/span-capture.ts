// Span capture in the running agent: socket events from the kernel (native SpanSession) → the
// tracker that parses and pairs them → gzipped msgpack batches through the pusher.
import type { AgentSpan } from '@kiln/api/http';
import type { Logger } from 'pino';
import { monotonicToUnixNs } from './clock.js';
import type { AgentMetrics } from './metrics.js';
import type { NativeSpanSession, SpanSessionStats } from './native.js';
import type { Pusher } from './push.js';
import { decodeSocketEvents } from './spans/decode-events.js';
import { SpanBatchEncoder } from './spans/encode-batch.js';
import { SpanTracker, type KernelSpan } from './spans/tracker.js';

/** Gives server spans their latency breakdown (the scheduler probe's times), just before they are sent. */
export interface SpanBreakdowns {
  addBreakdowns(spans: { span: AgentSpan; kernel: KernelSpan }[]): void;
}

export interface SpanCaptureOptions {
  session: NativeSpanSession;
  /** The labels the process's CPU profiles carry, so a span and its profile select alike. */
  labelsOf: (pid: number) => Record<string, string>;
  pusher: Pusher;
  logger: Logger;
  metrics?: AgentMetrics;
  /** How often finished spans are sent (and quiet connections' spans ended). */
  flushEveryMs?: number;
  breakdowns?: SpanBreakdowns;
}

// Events wait this long in the ring before they are read: one wake-up per burst, not per event.
const POLL_DELAY_MS = 50;
// A batch stays well under the server's body limit.
const MAX_BATCH_SPANS = 5000;

export class SpanCapture {
  readonly #opts: SpanCaptureOptions;
  readonly #tracker: SpanTracker;
  #batch: AgentSpan[] = [];
  /** The batch's server spans the kernel knows by id. */
  #kernelSpans: { span: AgentSpan; kernel: KernelSpan }[] = [];
  readonly #encoder = new SpanBatchEncoder();
  #malformed = 0;
  readonly #timer: NodeJS.Timeout;
  /** The kernel's counts as they were at close (the session cannot be asked afterwards). */
  #finalKernelStats: SpanSessionStats | undefined;

  constructor(opts: SpanCaptureOptions) {
    this.#opts = opts;
    this.#tracker = new SpanTracker({
      monotonicToUnixNs: monotonicToUnixNs(),
      labelsOf: opts.labelsOf,
      onSpan: (span, kernel) => {
        this.#batch.push(span);
        if (kernel !== undefined && opts.breakdowns !== undefined) this.#kernelSpans.push({ span, kernel });
        if (this.#batch.length >= MAX_BATCH_SPANS) this.#send();
      },
    });
    opts.session.watch(() => this.#poll(), POLL_DELAY_MS);
    this.#timer = setInterval(() => this.flush(), opts.flushEveryMs ?? 1000);
  }

  #poll(): void {
    try {
      for (const event of decodeSocketEvents(this.#opts.session.poll(), () => this.#malformed++)) this.#tracker.push(event);
    } catch (err) {
      this.#opts.logger.error({ err }, 'cannot read socket events');
    }
  }

  /** Reads what the kernel holds, ends the spans of quiet connections and sends what is finished. */
  flush(): void {
    this.#poll();
    this.#tracker.flush(process.hrtime.bigint());
    this.#send();
    this.#opts.metrics?.observeSpans(this.#opts.session.stats(), this.#tracker.stats, this.#malformed);
  }

  #send(): void {
    if (this.#batch.length === 0) return;
    const spans = this.#batch;
    this.#batch = [];
    if (this.#kernelSpans.length > 0) {
      const kernelSpans = this.#kernelSpans;
      this.#kernelSpans = [];
      try {
        this.#opts.breakdowns?.addBreakdowns(kernelSpans);
      } catch (err) {
        // The spans go without their breakdown rather than not at all.
        this.#opts.logger.error({ err }, 'cannot break span latencies down');
      }
    }
    this.#opts.pusher.enqueueSpans(this.#encoder.encode(spans), spans.length);
  }

  stats(): { kernel: SpanSessionStats; tracker: SpanTracker['stats'] } {
    return { kernel: this.#finalKernelStats ?? this.#opts.session.stats(), tracker: this.#tracker.stats };
  }

  /** Sends every span still open as it stands (the agent is stopping), then stops capture. */
  close(): void {
    clearInterval(this.#timer);
    this.#poll();
    // Far in the future: every connection counts as quiet, so every span in flight ends now.
    this.#tracker.flush(process.hrtime.bigint() + 3600n * 1_000_000_000n);
    this.#send();
    this.#finalKernelStats = this.#opts.session.stats();
    this.#opts.session.close();
  }
}
