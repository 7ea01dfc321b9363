// The kernel-signal queries: one kind's total, series and top list for a selection and range, and
// the episodes (or connections) of a range, which the UI lists for a clicked bucket.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { SignalEpisodesQuery, SignalEpisodesResponse, SignalsQuery, SignalsResponse } from '@kiln/api/http';
import { signalEpisodes, signalSummary, type SignalFilter } from '../query/signals.js';
import { parseSelector } from '../query/selector.js';
import { parseRange } from '../query/time.js';
import { querySchema, type QueryContext } from './query.js';

export const signalRoutes: FastifyPluginAsyncTypebox<QueryContext> = async (app, { engine, timed }) => {
  app.get(
    '/api/v1/signals',
    {
      schema: {
        ...querySchema(
          'One kernel signal for a selection and range: its total, a series, and the largest services, cgroups or connections',
          SignalsQuery,
          SignalsResponse,
        ),
        description:
          'throttle and runqueue: nanoseconds runnable tasks waited (every wait, not only episodes), top list by service and ' +
          'cgroup, and for throttle the kernel’s own cpu.stat counters (`kernel`) as a cross-check; retransmit: segments sent ' +
          'again, top list by connection and owner. `values` has at most maxPoints points, the first starting on a multiple of ' +
          'the step.',
      },
    },
    async (request) => {
      const q = request.query;
      return timed('signals', () => signalSummary(engine, signalFilter(q), q.maxPoints ?? 120, q.top ?? 10));
    },
  );

  app.get(
    '/api/v1/signals/episodes',
    {
      schema: querySchema(
        'What happened in a range: throttle and runqueue list waits at least the agent’s threshold long, longest first; ' +
          'retransmit lists connections, most segments first',
        SignalEpisodesQuery,
        SignalEpisodesResponse,
      ),
    },
    async (request) => {
      const q = request.query;
      return timed('signal_episodes', () => signalEpisodes(engine, signalFilter(q), q.limit ?? 100));
    },
  );
};

function signalFilter(q: { kind: SignalFilter['kind']; query?: string; from?: string; until?: string }): SignalFilter {
  return {
    kind: q.kind,
    selector: parseSelector(q.query === undefined || q.query === '' ? '{}' : q.query),
    range: parseRange(q.from, q.until),
  };
}
