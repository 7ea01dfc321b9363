// The query API: one engine and one latency histogram shared by the route modules.
import { ErrorBody } from '@kiln/api/http';
import type { FastifyInstance } from 'fastify';
import type { TSchema } from 'typebox';
import { Histogram } from 'prom-client';
import { badRequest } from '../http/http-error.js';
import { QueryEngine, type Selection } from '../query/engine.js';
import { parseSelector } from '../query/selector.js';
import type { TimeRange } from '../query/time.js';
import { flamegraphRoutes } from './flamegraph.js';
import { labelRoutes } from './labels.js';
import { profileRoutes } from './profiles.js';
import { seriesRoutes } from './series.js';
import { signalRoutes } from './signals.js';
import { spanRoutes } from './spans.js';

export interface QueryContext {
  engine: QueryEngine;
  /** Runs one endpoint's storage work, timing it and turning storage errors that are the caller's fault into 400s. */
  timed: <R>(endpoint: string, work: () => Promise<R>) => Promise<R>;
}

export async function queryRoutes(app: FastifyInstance): Promise<void> {
  const engine = new QueryEngine(app.clickhouse, app.catalog, { inOp: app.storage.cluster === undefined ? 'IN' : 'GLOBAL IN' });
  const seconds = new Histogram({
    name: 'kiln_query_duration_seconds',
    help: 'Query API latency by endpoint.',
    labelNames: ['endpoint', 'result'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [app.metrics],
  });
  const ctx: QueryContext = {
    engine,
    async timed(endpoint, work) {
      const started = performance.now();
      let result = 'ok';
      try {
        return await work();
      } catch (err) {
        result = 'error';
        throw mapStorageError(err);
      } finally {
        seconds.observe({ endpoint, result }, (performance.now() - started) / 1000);
      }
    },
  };
  await app.register(flamegraphRoutes, ctx);
  await app.register(seriesRoutes, ctx);
  await app.register(labelRoutes, ctx);
  await app.register(profileRoutes, ctx);
  await app.register(spanRoutes, ctx);
  await app.register(signalRoutes, ctx);
}

/** A selector parameter (empty: everything) over a range. */
export function selection(raw: string | undefined, param: string, range: TimeRange): Selection {
  return { selector: parseSelector(raw === undefined || raw === '' ? '{}' : raw, param), range };
}

/** The selector of a listing, where none means no condition on labels. */
export function optionalSelector(raw: string | undefined) {
  return raw === undefined || raw === '' ? undefined : parseSelector(raw);
}

export function checkLabelName(name: string, what: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(name)) throw badRequest(`${what} ${JSON.stringify(name.slice(0, 100))} is not a label name`);
  return name;
}

/** ClickHouse refusing a regular expression is the caller's mistake. */
function mapStorageError(err: unknown): unknown {
  const message = (err as Error)?.message ?? '';
  if (/CANNOT_COMPILE_REGEXP|cannot compile re2|regular expression/i.test(message)) {
    return badRequest(`a regular expression in the selector is not valid RE2: ${message.split('\n')[0]!.slice(0, 300)}`);
  }
  return err;
}

/** A query route's schema: summary, query string, the body of a 200, and `{ error }` for 400 and 404. */
export function querySchema<Q extends TSchema, R extends TSchema>(summary: string, querystring: Q, ok: R) {
  return { summary, tags: ['query'], querystring, response: { 200: ok, 400: ErrorBody, 404: ErrorBody } };
}
