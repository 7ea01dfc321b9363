// Pushes interval profiles, span batches and signal batches to a Kiln server, without ever blocking the profiler:
// one bounded queue (oldest dropped first, and counted), retries with exponential backoff and jitter.
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { AgentMetrics } from './metrics.js';

/** What an upload holds: a gzipped pprof of one interval, or a gzipped msgpack batch of spans or of kernel signals. */
export type UploadKind = 'profile' | 'spans' | 'signals';

const batchPaths = { spans: '/api/v1/ingest/spans', signals: '/api/v1/ingest/signals' } as const;

interface Pending {
  kind: UploadKind;
  body: Buffer;
  /** CPU samples in the profile, or spans or signal records in the batch, for the summary of what was sent. */
  items: number;
  /** The profile's interval (unused for batches, whose times are in them). */
  fromMs: number;
  untilMs: number;
  attempts: number;
}

export interface PusherOptions {
  url: string;
  /** Sent as `Authorization: Bearer <token>` (the server's --auth-token-file). */
  token?: string;
  logger: Logger;
  metrics?: AgentMetrics;
  /** Upper bound on queued bytes. */
  maxQueueBytes?: number;
}

export interface PushStats {
  /** Profiles the server took. */
  sent: number;
  /** CPU samples in them. */
  samples: number;
  /** Spans the server took. */
  spans: number;
  /** Failed attempts that were tried again later. */
  retries: number;
  /** Uploads (profiles or span batches) the server refused (4xx): dropped, not retried. */
  rejected: number;
  /** Profiles dropped from a full queue. */
  dropped: number;
  /** Spans dropped from a full queue. */
  spansDropped: number;
  /** Signal records (cgroup waits, episodes, cpu.stat deltas, connections) the server took. */
  signals: number;
  /** Signal records dropped from a full queue. */
  signalsDropped: number;
  queued: number;
  queuedBytes: number;
}

export class Pusher {
  readonly #opts: PusherOptions;
  readonly #queue: Pending[] = [];
  #queuedBytes = 0;
  #sending: Promise<void> | undefined;
  #sent = 0;
  #samplesSent = 0;
  #spansSent = 0;
  #spansDropped = 0;
  #signalsSent = 0;
  #signalsDropped = 0;
  /** The server answered 404 to a signal batch: said once, not at every interval. */
  #signalsEndpointMissing = false;
  #retries = 0;
  #rejected = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #droppedCount = 0;

  constructor(opts: PusherOptions) {
    this.#opts = opts;
  }

  /** Queues one interval's gzipped pprof holding `samples` CPU samples. */
  enqueueProfile(body: Buffer, samples: number, fromMs: number, untilMs: number): void {
    this.#enqueue({ kind: 'profile', body, items: samples, fromMs, untilMs, attempts: 0 });
  }

  /** Queues a gzipped msgpack AgentSpanBatch of `spans` spans. */
  enqueueSpans(body: Buffer, spans: number): void {
    const now = Date.now();
    this.#enqueue({ kind: 'spans', body, items: spans, fromMs: now, untilMs: now, attempts: 0 });
  }

  /** Queues a gzipped msgpack AgentSignalBatch of `records` records. */
  enqueueSignals(body: Buffer, records: number): void {
    const now = Date.now();
    this.#enqueue({ kind: 'signals', body, items: records, fromMs: now, untilMs: now, attempts: 0 });
  }

  #enqueue(upload: Pending): void {
    const max = this.#opts.maxQueueBytes ?? 64 * 1024 * 1024;
    while (this.#queue.length > 0 && this.#queuedBytes + upload.body.length > max) {
      const old = this.#queue.shift()!;
      this.#queuedBytes -= old.body.length;
      if (old.kind === 'profile') {
        this.#opts.metrics?.profileDropped();
        this.#droppedCount++;
      } else if (old.kind === 'spans') {
        this.#opts.metrics?.spansDropped(old.items);
        this.#spansDropped += old.items;
      } else {
        this.#opts.metrics?.signalsDropped(old.items);
        this.#signalsDropped += old.items;
      }
      this.#opts.logger.warn({ kind: old.kind, fromMs: old.fromMs }, 'server unreachable for too long: dropped the oldest queued upload');
    }
    this.#queue.push(upload);
    this.#queuedBytes += upload.body.length;
    this.#kick();
  }

  #kick(): void {
    if (this.#sending === undefined && this.#retryTimer === undefined)
      this.#sending = this.#drain().finally(() => (this.#sending = undefined));
  }

  async #drain(): Promise<void> {
    for (let next = this.#queue[0]; next !== undefined; next = this.#queue[0]) {
      try {
        await this.#send(next);
        this.#queue.shift();
        this.#queuedBytes -= next.body.length;
      } catch (err) {
        next.attempts++;
        this.#retries++;
        const delay = Math.min(60_000, 500 * 2 ** Math.min(next.attempts, 7)) * (0.5 + Math.random() / 2);
        this.#opts.logger.warn(
          { err: (err as Error).message, attempts: next.attempts, retryInMs: Math.round(delay) },
          'push failed; will retry',
        );
        this.#retryTimer = setTimeout(() => {
          this.#retryTimer = undefined;
          this.#kick();
        }, delay);
        return;
      }
    }
  }

  async #send(p: Pending): Promise<void> {
    const res =
      p.kind === 'profile'
        ? await post(
            this.#profileUrl(p),
            p.body,
            { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip' },
            30_000,
            this.#opts.token,
          )
        : await post(
            new URL(batchPaths[p.kind], this.#opts.url),
            p.body,
            { 'content-type': 'application/msgpack', 'content-encoding': 'gzip' },
            30_000,
            this.#opts.token,
          );
    if (res.status >= 400 && res.status < 500 && res.status !== 429) {
      // The server will never take this one: drop it rather than retry forever.
      this.#rejected++;
      if (p.kind === 'signals' && res.status === 404) {
        // A server older than the agent: profiles and spans still go through.
        if (!this.#signalsEndpointMissing)
          this.#opts.logger.warn(
            { status: res.status },
            'the server does not take kernel signals (no /api/v1/ingest/signals); signal batches are dropped',
          );
        this.#signalsEndpointMissing = true;
        return;
      }
      this.#opts.logger.error({ kind: p.kind, status: res.status, body: res.body }, 'server rejected an upload');
      return;
    }
    if (res.status < 200 || res.status >= 300) throw new Error(`server answered ${res.status}`);
    if (p.kind === 'spans') {
      this.#spansSent += p.items;
      this.#opts.metrics?.spansSent(p.items);
      this.#opts.logger.debug({ bytes: p.body.length, spans: p.items, attempts: p.attempts + 1 }, 'spans sent');
      return;
    }
    if (p.kind === 'signals') {
      this.#signalsSent += p.items;
      this.#opts.metrics?.signalsSent(p.items);
      this.#opts.logger.debug({ bytes: p.body.length, records: p.items, attempts: p.attempts + 1 }, 'signals sent');
      return;
    }
    this.#sent++;
    this.#samplesSent += p.items;
    this.#opts.metrics?.profileWritten('server');
    // One upload every interval: the agent's periodic summary says it at info.
    this.#opts.logger.debug({ bytes: p.body.length, samples: p.items, attempts: p.attempts + 1 }, 'profile sent');
  }

  #profileUrl(p: Pending): URL {
    const url = new URL('/ingest', this.#opts.url);
    url.searchParams.set('name', 'kiln-agent');
    url.searchParams.set('format', 'pprof');
    url.searchParams.set('spyName', 'kiln-agent');
    url.searchParams.set('from', String(Math.floor(p.fromMs / 1000)));
    url.searchParams.set('until', String(Math.ceil(p.untilMs / 1000)));
    return url;
  }

  /** Counts since the pusher started. */
  stats(): PushStats {
    return {
      sent: this.#sent,
      samples: this.#samplesSent,
      spans: this.#spansSent,
      retries: this.#retries,
      rejected: this.#rejected,
      dropped: this.#droppedCount,
      spansDropped: this.#spansDropped,
      signals: this.#signalsSent,
      signalsDropped: this.#signalsDropped,
      queued: this.#queue.length,
      queuedBytes: this.#queuedBytes,
    };
  }

  /** Tries to send what is queued for up to `graceMs`, then gives up. */
  async close(graceMs = 5_000): Promise<void> {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const deadline = Date.now() + graceMs;
    while (this.#queue.length > 0 && Date.now() < deadline) {
      this.#kick();
      await Promise.race([this.#sending, new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())))]);
      if (this.#retryTimer !== undefined) break;
    }
    clearTimeout(this.#retryTimer);
    if (this.#queue.length > 0) this.#opts.logger.warn({ uploads: this.#queue.length }, 'uploads not delivered before shutdown');
  }
}

/**
 * POSTs `body` with node:http(s), not fetch: loading fetch (undici) costs ~80 ms of CPU at the
 * agent's first push, node:http ~15 ms. Connections are kept alive between pushes.
 */
export async function post(
  url: URL,
  body: Buffer,
  headers: Record<string, string>,
  timeoutMs: number,
  token?: string,
): Promise<{ status: number; body: string }> {
  const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const all = { ...headers, 'content-length': String(body.length), ...(token !== undefined && { authorization: `Bearer ${token}` }) };
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: all, timeout: timeoutMs }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
