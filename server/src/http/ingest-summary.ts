// One info line a minute about ingest — profiles and samples stored, the clients that sent them,
// uploads refused and storage errors — in place of a line per upload; nothing when nothing happened.
import type { FastifyBaseLogger } from 'fastify';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    /** Counts of what /ingest did since the last summary line. */
    ingestSummary: IngestSummary;
  }
}

const SUMMARY_EVERY_MS = 60_000;

export interface IngestCounts {
  /** Profiles stored. */
  profiles: number;
  /** Sample rows stored (as kiln_ingest_samples_total counts them). */
  samples: number;
  /** Distinct client addresses of the stored profiles: one per agent unless a proxy is in between. */
  clients: number;
  /** Uploads refused: malformed, over a limit, or rate-limited. */
  rejected: number;
  /** Uploads storage did not take (answered 503). */
  errors: number;
  seconds: number;
}

export class IngestSummary {
  #profiles = 0;
  #samples = 0;
  #clients = new Set<string>();
  #rejected = 0;
  #errors = 0;
  #since = Date.now();

  /** A profile of `samples` sample rows from `client` (its address) was stored. */
  stored(client: string, samples: number): void {
    this.#profiles++;
    this.#samples += samples;
    this.#clients.add(client);
  }

  /** An upload was refused for `reason` (kiln_ingest_rejected_total's label); `storage` is an error, not the client's fault. */
  refused(reason: string): void {
    if (reason === 'storage') this.#errors++;
    else this.#rejected++;
  }

  /** What happened since the last call, and starts counting again; undefined when nothing happened. */
  take(now = Date.now()): IngestCounts | undefined {
    const counts = {
      profiles: this.#profiles,
      samples: this.#samples,
      clients: this.#clients.size,
      rejected: this.#rejected,
      errors: this.#errors,
      seconds: Math.round((now - this.#since) / 1000),
    };
    this.#profiles = this.#samples = this.#rejected = this.#errors = 0;
    this.#clients.clear();
    this.#since = now;
    return counts.profiles + counts.rejected + counts.errors > 0 ? counts : undefined;
  }

  log(log: FastifyBaseLogger): void {
    const counts = this.take();
    if (counts !== undefined) log.info(counts, 'ingest summary');
  }
}

/** Decorates `ingestSummary` and logs it every minute, and once more at close for the last part-minute. */
export const ingestSummaryPlugin = fp(
  async (app) => {
    const summary = new IngestSummary();
    app.decorate('ingestSummary', summary);
    const timer = setInterval(() => summary.log(app.log), SUMMARY_EVERY_MS);
    app.addHook('onClose', async () => {
      clearInterval(timer);
      summary.log(app.log);
    });
  },
  { name: 'ingest-summary' },
);
