// The span queries: the slowest spans, one trace, the latency heatmap, "compare slow with typical"
// and the CPU profile of one span (its stamped samples, through the flame graph engine).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  DEFAULT_MAX_NODES,
  ErrorBody,
  FlamegraphResponse,
  SpanCompareQuery,
  SpanCompareResponse,
  SpanFlamegraphQuery,
  SpanIdParams,
  TraceHeatmapQuery,
  TraceHeatmapResponse,
  TraceIdParams,
  TraceResponse,
  TracesQuery,
  TracesResponse,
} from '@kiln/api/http';
import { badRequest, HttpError } from '../http/http-error.js';
import { flamegraphBody } from '../query/engine.js';
import { selectionPprof } from '../query/pprof-export.js';
import { parseSelector } from '../query/selector.js';
import { compareSlowWithTypical } from '../query/span-compare.js';
import { spanHeatmap } from '../query/span-heatmap.js';
import { stampedSelection } from '../query/span-samples.js';
import { slowestSpans, spanById, traceSpans, type SpanFilter } from '../query/traces.js';
import { parseRange } from '../query/time.js';
import { downloadSchema, sendDownload } from './download.js';
import { querySchema, type QueryContext } from './query.js';

export const spanRoutes: FastifyPluginAsyncTypebox<QueryContext> = async (app, { engine, timed }) => {
  app.get(
    '/api/v1/traces',
    {
      schema: querySchema(
        'The slowest spans of the selection that started in the range, slowest first, with their CPU sample counts',
        TracesQuery,
        TracesResponse,
      ),
    },
    async (request) => {
      const q = request.query;
      return timed('traces', async () => ({ spans: await slowestSpans(engine, spanFilter(q), q.limit ?? 100) }));
    },
  );

  app.get(
    '/api/v1/traces/heatmap',
    {
      schema: querySchema(
        'Span counts of the selection by start time (columns) and duration (rows, two per doubling)',
        TraceHeatmapQuery,
        TraceHeatmapResponse,
      ),
    },
    async (request) => {
      const q = request.query;
      return timed('traces_heatmap', () => spanHeatmap(engine, spanFilter(q), q.timeBuckets ?? 60));
    },
  );

  app.get(
    '/api/v1/traces/compare',
    {
      schema: {
        ...querySchema(
          'Compare slow with typical: the CPU diff of one route’s spans at p95 and up against its p40–p60',
          SpanCompareQuery,
          SpanCompareResponse,
        ),
        description:
          'The left side merges the CPU samples of the spans around the median duration (p40–p60), the right side those of ' +
          'the spans at or above p95 (at most 2000 spans each). 404 when no span has that name or none holds samples, 400 ' +
          'when fewer than 10 spans have it.',
      },
    },
    async (request) => {
      const q = request.query;
      const maxNodes = q.maxNodes ?? DEFAULT_MAX_NODES;
      return timed('traces_compare', () => compareSlowWithTypical(engine, { ...spanFilter(q), name: q.name }, maxNodes));
    },
  );

  app.get(
    '/api/v1/traces/:id',
    {
      schema: {
        summary: 'Every stored span of one trace, by start time',
        tags: ['query'],
        params: TraceIdParams,
        response: { 200: TraceResponse, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      const { id } = request.params;
      const spansOfTrace = await timed('trace', () => traceSpans(engine, id));
      if (spansOfTrace.length === 0) throw new HttpError(404, `no spans of trace ${id}`);
      return { traceId: id, spans: spansOfTrace };
    },
  );

  /** The samples of a stored span (its id, and those of its kiln.stamps); 404 for an unknown span. */
  const spanSelection = async (id: string) => {
    const span = await spanById(engine, id);
    if (span === undefined) throw new HttpError(404, `no span ${id} is stored`);
    return stampedSelection([span]);
  };

  app.get(
    '/api/v1/spans/:id/flamegraph',
    {
      schema: {
        summary: 'The flame graph of the CPU samples taken while one span ran (stamped with its id)',
        description: 'Empty when the span holds no samples (SDK spans, or a span too short for a sample).',
        tags: ['query'],
        params: SpanIdParams,
        querystring: SpanFlamegraphQuery,
        response: { 200: FlamegraphResponse, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      const maxNodes = request.query.maxNodes ?? DEFAULT_MAX_NODES;
      return timed('span_flamegraph', async () => {
        const sel = await spanSelection(request.params.id);
        return flamegraphBody(await engine.flamegraph(sel, maxNodes), await engine.metadata(sel.selector.profileType), maxNodes);
      });
    },
  );

  app.get(
    '/api/v1/spans/:id/pprof',
    { schema: downloadSchema('The CPU samples taken while one span ran, as a gzipped pprof profile', SpanIdParams) },
    async (request, reply) => {
      const { id } = request.params;
      const bytes = await timed('span_pprof', async () => selectionPprof(engine, await spanSelection(id)));
      return sendDownload(reply, `span-${id}.pb.gz`, bytes);
    },
  );
};

interface SpanFilterQuery {
  query?: string;
  from?: string;
  until?: string;
  minDuration?: string;
  name?: string;
  status?: string;
}

function spanFilter(q: SpanFilterQuery): SpanFilter {
  return {
    selector: parseSelector(q.query === undefined || q.query === '' ? '{}' : q.query),
    range: parseRange(q.from, q.until),
    minDurationNs: q.minDuration === undefined || q.minDuration === '' ? 0 : parseDurationNs(q.minDuration),
    ...(q.name !== undefined && { name: q.name }),
    ...(q.status !== undefined && { status: q.status }),
  };
}

const UNIT_NS: Record<string, number> = { us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

function parseDurationNs(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(us|ms|s|m|h)$/.exec(raw.trim());
  if (m === null) throw badRequest(`minDuration=${JSON.stringify(raw.slice(0, 100))} is not a duration: use e.g. 250ms, 2s, 1m`);
  return Math.round(Number(m[1]) * UNIT_NS[m[2]!]!);
}
