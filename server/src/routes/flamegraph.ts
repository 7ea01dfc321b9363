// Flame graph, diff and pprof export of selections.
import {
  BinaryBody,
  DEFAULT_MAX_NODES,
  DiffQuery,
  DiffResponse,
  FlamegraphQuery,
  FlamegraphResponse,
  SelectionQuery,
} from '@kiln/api/http';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { badRequest } from '../http/http-error.js';
import { diffBody, flamegraphBody } from '../query/engine.js';
import { selectionPprof } from '../query/pprof-export.js';
import { sendDownload } from './download.js';
import { parseRange, type TimeRange } from '../query/time.js';
import { querySchema, selection, type QueryContext } from './query.js';

export const flamegraphRoutes: FastifyPluginAsyncTypebox<QueryContext> = async (app, { engine, timed }) => {
  app.get(
    '/api/v1/flamegraph',
    { schema: querySchema('Merged flame graph of a selection', FlamegraphQuery, FlamegraphResponse) },
    async (request) => {
      const q = request.query;
      const sel = selection(q.query, 'query', parseRange(q.from, q.until));
      const maxNodes = q.maxNodes ?? DEFAULT_MAX_NODES;
      return timed('flamegraph', async () => {
        const r = await engine.flamegraph(sel, maxNodes);
        return flamegraphBody(r, await engine.metadata(sel.selector.profileType), maxNodes);
      });
    },
  );

  app.get(
    '/api/v1/diff',
    { schema: querySchema('Differential flame graph of two selections, computed in one scan', DiffQuery, DiffResponse) },
    async (request) => {
      const q = request.query;
      const now = Date.now();
      const common = parseRange(q.from, q.until, undefined, now);
      const side = (f: string | undefined, u: string | undefined, which: string): TimeRange =>
        f === undefined && u === undefined
          ? common
          : parseRange(f ?? String(common.fromMs), u ?? String(common.untilMs), { from: `${which}From`, until: `${which}Until` }, now);
      if (q.left === undefined || q.right === undefined) throw badRequest('left and right selectors are required');
      const left = selection(q.left, 'left', side(q.leftFrom, q.leftUntil, 'left'));
      const right = selection(q.right, 'right', side(q.rightFrom, q.rightUntil, 'right'));
      const maxNodes = q.maxNodes ?? DEFAULT_MAX_NODES;
      return timed('diff', async () => {
        const r = await engine.diff(left, right, maxNodes);
        return diffBody(r, await engine.metadata(left.selector.profileType), maxNodes);
      });
    },
  );

  app.get(
    '/api/v1/pprof',
    {
      schema: {
        ...querySchema('A selection as a gzipped pprof profile (go tool pprof reads it)', SelectionQuery, BinaryBody),
        produces: ['application/octet-stream'],
      },
    },
    async (request, reply) => {
      const q = request.query;
      const sel = selection(q.query, 'query', parseRange(q.from, q.until));
      const bytes = await timed('pprof', () => selectionPprof(engine, sel));
      return sendDownload(reply, `${sel.selector.profileType}.pb.gz`, bytes);
    },
  );
};
