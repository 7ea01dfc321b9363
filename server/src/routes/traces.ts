// POST /v1/traces: OTLP/HTTP traces from OpenTelemetry SDKs.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { BinaryBody, ErrorBody, OtlpTraceResponse } from '@kiln/api/http';
import { Counter } from 'prom-client';
import { Type } from 'typebox';
import { decodeContentEncoding } from '../ingest/body.js';
import { IngestError } from '../ingest/limits.js';
import { decodeTraceRequest, traceResponse, type OtlpEncoding } from '../ingest/otlp.js';
import { storeSpans } from '../query/traces.js';

export interface TraceRouteOptions {
  /** Request body bytes as sent, and after Content-Encoding (the /ingest limits). */
  maxBodyBytes: number;
  maxDecodedBytes: number;
}

const MEDIA_TYPES: Record<string, OtlpEncoding> = { 'application/x-protobuf': 'protobuf', 'application/json': 'json' };

export const traceRoutes: FastifyPluginAsyncTypebox<TraceRouteOptions> = async (app, opts) => {
  const registers = [app.metrics];
  const spans = new Counter({
    name: 'kiln_otlp_spans_total',
    help: 'Spans received on /v1/traces: accepted (stored) or rejected (invalid ids or times).',
    labelNames: ['result'],
    registers,
  });
  const refused = new Counter({
    name: 'kiln_otlp_requests_rejected_total',
    help: 'Requests on /v1/traces refused whole, by reason.',
    labelNames: ['reason'],
    registers,
  });

  // Raw bodies of any type (this plugin's routes only): the handler decodes them and answers 415 itself.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: opts.maxBodyBytes }, (_req, body, done) => done(null, body));

  app.post(
    '/v1/traces',
    {
      bodyLimit: opts.maxBodyBytes,
      schema: {
        summary: 'Store spans sent by OpenTelemetry SDKs (OTLP/HTTP)',
        description:
          'Body: an ExportTraceServiceRequest as application/x-protobuf or application/json (OTLP/JSON: hex ids); ' +
          'Content-Encoding: gzip is accepted. 200 only after the spans are stored, with an ExportTraceServiceResponse ' +
          'in the encoding of the request (partialSuccess counts spans without valid ids or start time).',
        tags: ['ingest'],
        consumes: Object.keys(MEDIA_TYPES),
        // The protobuf answer is bytes, sent as they are.
        response: { 200: Type.Union([OtlpTraceResponse, BinaryBody]), 400: ErrorBody, 413: ErrorBody, 415: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const mediaType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const encoding = MEDIA_TYPES[mediaType];
      try {
        if (encoding === undefined) {
          throw new IngestError(
            415,
            `Content-Type ${JSON.stringify(mediaType)} is not supported: send application/x-protobuf or application/json`,
            'bad_content_type',
          );
        }
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const body = decodeContentEncoding(raw, request.headers['content-encoding'], opts.maxDecodedBytes);
        const decoded = decodeTraceRequest(body, encoding);
        try {
          await storeSpans(app.clickhouse, decoded.rows);
        } catch (err) {
          request.log.error({ err }, 'otlp: insert failed');
          refused.inc({ reason: 'storage' });
          return reply.code(503).header('retry-after', '5').send({ error: 'storage did not take the spans; retry later' });
        }
        spans.inc({ result: 'accepted' }, decoded.rows.length);
        if (decoded.rejected > 0) spans.inc({ result: 'rejected' }, decoded.rejected);
        const answer = traceResponse(encoding, decoded.rejected, decoded.rejectReason);
        if (Buffer.isBuffer(answer)) return reply.type('application/x-protobuf').send(answer);
        return reply.type('application/json').send(answer);
      } catch (err) {
        if (!(err instanceof IngestError)) throw err;
        refused.inc({ reason: err.reason });
        return reply.code(err.statusCode as 400 | 413 | 415).send({ error: err.message });
      }
    },
  );
};
