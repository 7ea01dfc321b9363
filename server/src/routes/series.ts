// Sample totals over time.
import { SeriesQuery, SeriesResponse } from '@kiln/api/http';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { seriesResponse, seriesStep } from '../query/series.js';
import { parseRange } from '../query/time.js';
import { checkLabelName, querySchema, selection, type QueryContext } from './query.js';

export const seriesRoutes: FastifyPluginAsyncTypebox<QueryContext> = async (app, { engine, timed }) => {
  app.get(
    '/api/v1/series',
    { schema: querySchema('Sample totals over time (dense points, one series per groupBy value)', SeriesQuery, SeriesResponse) },
    async (request) => {
      const q = request.query;
      const sel = selection(q.query, 'query', parseRange(q.from, q.until));
      const step = seriesStep(sel.range, q.step);
      const groupBy = q.groupBy === undefined || q.groupBy === '' ? undefined : checkLabelName(q.groupBy, 'groupBy');
      return timed('series', async () =>
        seriesResponse(await engine.series(sel, step, groupBy), step, await engine.metadata(sel.selector.profileType)),
      );
    },
  );
};
