// POST /api/v1/ingest/spans: the spans the agent captures in the kernel, as msgpack batches.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AgentSpanBatchResponse, ErrorBody } from '@kiln/api/http';
import { Counter } from 'prom-client';
import { decodeAgentSpans } from '../ingest/agent-spans.js';
import { decodeContentEncoding } from '../ingest/body.js';
import { IngestError } from '../ingest/limits.js';
import { storeSpans } from '../query/traces.js';
import type { TraceRouteOptions } from './traces.js';

const MEDIA_TYPES = new Set(['application/msgpack', 'application/x-msgpack']);

export const spanIngestRoutes: FastifyPluginAsyncTypebox<TraceRouteOptions> = async (app, opts) => {
  const registers = [app.metrics];
  const spans = new Counter({
    name: 'kiln_agent_spans_total',
    help: 'Spans received from agents on /api/v1/ingest/spans: accepted (stored) or rejected (invalid ids, times or values).',
    labelNames: ['result'],
    registers,
  });
  const refused = new Counter({
    name: 'kiln_agent_span_requests_rejected_total',
    help: 'Requests on /api/v1/ingest/spans refused whole, by reason.',
    labelNames: ['reason'],
    registers,
  });

  // Raw bodies of any type (this plugin's routes only): the handler decodes them and answers 415 itself.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: opts.maxBodyBytes }, (_req, body, done) => done(null, body));

  app.post(
    '/api/v1/ingest/spans',
    {
      bodyLimit: opts.maxBodyBytes,
      schema: {
        summary: 'Store spans the agent captured in the kernel',
        description:
          'Body: an AgentSpanBatch (`{ spans: AgentSpan[] }`, see the schema in @kiln/api/http/spans) as msgpack, Content-Type ' +
          'application/msgpack or application/x-msgpack; Content-Encoding: gzip is accepted. Each span is checked on its own: ' +
          'spans with invalid ids, times, kind or status are counted in `rejected` (the reason of the first in `rejectReason`) ' +
          'and the others stored. 200 only after they are stored; a body that is not a batch is a 400.',
        tags: ['ingest'],
        consumes: [...MEDIA_TYPES],
        response: { 200: AgentSpanBatchResponse, 400: ErrorBody, 413: ErrorBody, 415: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const mediaType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      try {
        if (!MEDIA_TYPES.has(mediaType)) {
          throw new IngestError(
            415,
            `Content-Type ${JSON.stringify(mediaType)} is not supported: send application/msgpack`,
            'bad_content_type',
          );
        }
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        if (raw.length === 0) throw new IngestError(400, 'the request body is empty: send a span batch', 'empty');
        const decoded = decodeAgentSpans(decodeContentEncoding(raw, request.headers['content-encoding'], opts.maxDecodedBytes));
        try {
          await storeSpans(app.clickhouse, decoded.rows);
        } catch (err) {
          request.log.error({ err }, 'agent spans: insert failed');
          refused.inc({ reason: 'storage' });
          return reply.code(503).header('retry-after', '5').send({ error: 'storage did not take the spans; retry later' });
        }
        spans.inc({ result: 'accepted' }, decoded.rows.length);
        if (decoded.rejected > 0) spans.inc({ result: 'rejected' }, decoded.rejected);
        return {
          accepted: decoded.rows.length,
          rejected: decoded.rejected,
          ...(decoded.rejected > 0 && { rejectReason: decoded.rejectReason }),
        };
      } catch (err) {
        if (!(err instanceof IngestError)) throw err;
        refused.inc({ reason: err.reason });
        return reply.code(err.statusCode as 400 | 413 | 415).send({ error: err.message });
      }
    },
  );
};
