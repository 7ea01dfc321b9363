// The agent's health report: once per interval, with its profile, the figures its /metrics has
// go to the server (POST /api/v1/agents/report), which lists the nodes and their health.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { AgentReport } from '@kiln/api/http';
import type { Logger } from 'pino';
import type { Profiler } from './profiler.js';
import { post, type Pusher } from './push.js';

// Read at runtime so the version never drifts from agent/package.json (dist/ sits next to it).
const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const REPORT_TIMEOUT_MS = 30_000;

/** What changes from one report to the next. */
export type HealthFigures = Pick<AgentReport, 'samples' | 'samplesLost' | 'processesTracked' | 'profilesDropped'>;

/** The profiler's and the pusher's counts since the agent started, lost samples of every reason summed as /metrics counts them. */
export function healthFigures(profiler: Profiler, pusher: Pusher): HealthFigures {
  const s = profiler.stats();
  return {
    samples: s.samples,
    samplesLost: s.countsFull + s.stacksFull + s.userStackErrors + s.kernelStackErrors + s.eventsLost,
    processesTracked: profiler.trackedPids().length,
    profilesDropped: pusher.stats().dropped,
  };
}

export interface HealthReporterOptions {
  url: string;
  /** As the pusher's. */
  token?: string;
  /** The node label; default: the hostname, as the profiler's. */
  node?: string;
  intervalMs: number;
  startedAt: number;
  figures: () => HealthFigures;
  logger: Logger;
}

/**
 * Sends reports without queueing or retrying them: each one holds totals since the start, so the
 * next report makes up for a lost one, and a retried one would only arrive late and stale. At most
 * one is in flight: while the server is slow, the reports due meanwhile are skipped.
 */
export class HealthReporter {
  readonly #opts: HealthReporterOptions;
  readonly #node: string;
  #inFlight: Promise<void> | undefined;
  /** Reports not delivered (failed or skipped) since the last one that was. */
  #undelivered = 0;
  #failing = false;

  constructor(opts: HealthReporterOptions) {
    this.#opts = opts;
    this.#node = opts.node ?? hostname();
  }

  /** Starts sending the current figures, unless a report is still on its way. */
  send(): void {
    if (this.#inFlight !== undefined) {
      this.#undelivered++;
      return;
    }
    const report: AgentReport = {
      node: this.#node,
      version,
      startedAt: this.#opts.startedAt,
      intervalMs: this.#opts.intervalMs,
      ...this.#opts.figures(),
    };
    this.#inFlight = this.#post(report).finally(() => (this.#inFlight = undefined));
  }

  async #post(report: AgentReport): Promise<void> {
    const log = this.#opts.logger;
    try {
      const url = new URL('/api/v1/agents/report', this.#opts.url);
      const res = await post(
        url,
        Buffer.from(JSON.stringify(report)),
        { 'content-type': 'application/json' },
        REPORT_TIMEOUT_MS,
        this.#opts.token,
      );
      if (res.status !== 204) throw new Error(`server answered ${res.status}: ${res.body.slice(0, 300)}`);
      if (this.#failing) log.info({ undelivered: this.#undelivered }, 'health reports delivered again');
      this.#failing = false;
      this.#undelivered = 0;
    } catch (err) {
      // Once per outage: the pusher already says at every retry that the server is unreachable.
      if (!this.#failing) log.warn({ err: (err as Error).message }, 'health report not delivered; the next interval sends another');
      this.#failing = true;
      this.#undelivered++;
    }
  }
}
