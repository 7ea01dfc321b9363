// Pushes interval profiles to a Kiln server, without ever blocking the profiler: a bounded
// queue (oldest dropped first, and counted), retries with exponential backoff and jitter.
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { AgentMetrics } from './metrics.js';

interface Pending {
  body: Buffer;
  /** CPU samples in the profile, for the summary of what was sent. */
  samples: number;
  fromMs: number;
  untilMs: number;
  attempts: number;
}

export interface PusherOptions {
  url: string;
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
  /** Failed attempts that were tried again later. */
  retries: number;
  /** Profiles the server refused (4xx): dropped, not retried. */
  rejected: number;
  /** Profiles dropped from a full queue. */
  dropped: number;
  queued: number;
  queuedBytes: number;
}

export class ProfilePusher {
  readonly #opts: PusherOptions;
  readonly #queue: Pending[] = [];
  #queuedBytes = 0;
  #sending: Promise<void> | undefined;
  #sent = 0;
  #samplesSent = 0;
  #retries = 0;
  #rejected = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #droppedCount = 0;

  constructor(opts: PusherOptions) {
    this.#opts = opts;
  }

  enqueue(body: Buffer, samples: number, fromMs: number, untilMs: number): void {
    const max = this.#opts.maxQueueBytes ?? 64 * 1024 * 1024;
    while (this.#queue.length > 0 && this.#queuedBytes + body.length > max) {
      const old = this.#queue.shift()!;
      this.#queuedBytes -= old.body.length;
      this.#opts.metrics?.profileDropped();
      this.#droppedCount++;
      this.#opts.logger.warn({ fromMs: old.fromMs }, 'server unreachable for too long: dropped the oldest queued profile');
    }
    this.#queue.push({ body, samples, fromMs, untilMs, attempts: 0 });
    this.#queuedBytes += body.length;
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
    const url = new URL('/ingest', this.#opts.url);
    url.searchParams.set('name', 'kiln-agent');
    url.searchParams.set('format', 'pprof');
    url.searchParams.set('spyName', 'kiln-agent');
    url.searchParams.set('from', String(Math.floor(p.fromMs / 1000)));
    url.searchParams.set('until', String(Math.ceil(p.untilMs / 1000)));
    const res = await post(url, p.body, { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip' }, 30_000);
    if (res.status >= 400 && res.status < 500 && res.status !== 429) {
      // The server will never take this one: drop it rather than retry forever.
      this.#rejected++;
      this.#opts.logger.error({ status: res.status, body: res.body }, 'server rejected a profile');
      return;
    }
    if (res.status < 200 || res.status >= 300) throw new Error(`server answered ${res.status}`);
    this.#sent++;
    this.#samplesSent += p.samples;
    this.#opts.metrics?.profileWritten('server');
    // One upload every interval: the agent's periodic summary says it at info.
    this.#opts.logger.debug({ bytes: p.body.length, samples: p.samples, attempts: p.attempts + 1 }, 'profile sent');
  }

  /** Counts since the pusher started. */
  stats(): PushStats {
    return {
      sent: this.#sent,
      samples: this.#samplesSent,
      retries: this.#retries,
      rejected: this.#rejected,
      dropped: this.#droppedCount,
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
    if (this.#queue.length > 0) this.#opts.logger.warn({ profiles: this.#queue.length }, 'profiles not delivered before shutdown');
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
): Promise<{ status: number; body: string }> {
  const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', headers: { ...headers, 'content-length': String(body.length) }, timeout: timeoutMs },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
