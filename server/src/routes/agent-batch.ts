// The ingest routes of the agent's msgpack batches (spans, kernel signals): one content type, the
// same body limits, per-record rejection, 503 with Retry-After when storage fails, and a pair of
// Prometheus counters each.
import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBody } from '@kiln/api/http';
import { Counter } from 'prom-client';
import type { TSchema } from 'typebox';
import type { DecodedRecords } from '../ingest/agent-batch.js';
import { decodeContentEncoding } from '../ingest/body.js';
import { IngestError } from '../ingest/limits.js';
import type { TraceRouteOptions } from './traces.js';

const MEDIA_TYPES = ['application/msgpack', 'application/x-msgpack'];

export interface AgentBatchIngest<R> {
  path: string;
  summary: string;
  description: string;
  /** `{ accepted, rejected, rejectReason? }`, documented for this batch. */
  response: TSchema;
  /** What a record and a batch are called in answers and logs: `span`, `a span batch`. */
  record: string;
  batch: string;
  /** Counters: `<records>_total{result}` and `<requests>_rejected_total{reason}`. */
  metrics: { records: string; recordsHelp: string; requests: string; requestsHelp: string };
  decode: (body: Buffer) => DecodedRecords<R>;
  /** Resolves once the rows are stored. */
  store: (client: ClickHouseClient, rows: R[]) => Promise<void>;
}

/** A plugin with the one POST route of a batch (its own plugin: it parses bodies of any type as bytes). */
export function agentBatchRoute<R>(spec: AgentBatchIngest<R>): FastifyPluginAsyncTypebox<TraceRouteOptions> {
  return async (app, opts) => {
    const registers = [app.metrics];
    const records = new Counter({ name: spec.metrics.records, help: spec.metrics.recordsHelp, labelNames: ['result'], registers });
    const refused = new Counter({ name: spec.metrics.requests, help: spec.metrics.requestsHelp, labelNames: ['reason'], registers });

    // Raw bodies of any type (this plugin's routes only): the handler decodes them and answers 415 itself.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: opts.maxBodyBytes }, (_req, body, done) => done(null, body));

    app.post(
      spec.path,
      {
        bodyLimit: opts.maxBodyBytes,
        schema: {
          summary: spec.summary,
          description: spec.description,
          tags: ['ingest'],
          consumes: MEDIA_TYPES,
          response: { 200: spec.response, 400: ErrorBody, 413: ErrorBody, 415: ErrorBody, 503: ErrorBody },
        },
      },
      async (request, reply) => {
        const mediaType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        try {
          if (!MEDIA_TYPES.includes(mediaType)) {
            throw new IngestError(
              415,
              `Content-Type ${JSON.stringify(mediaType)} is not supported: send application/msgpack`,
              'bad_content_type',
            );
          }
          const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
          if (raw.length === 0) throw new IngestError(400, `the request body is empty: send ${spec.batch}`, 'empty');
          const decoded = spec.decode(decodeContentEncoding(raw, request.headers['content-encoding'], opts.maxDecodedBytes));
          try {
            await spec.store(app.clickhouse, decoded.rows);
          } catch (err) {
            request.log.error({ err }, `agent ${spec.record} batch: insert failed`);
            refused.inc({ reason: 'storage' });
            return reply
              .code(503)
              .header('retry-after', '5')
              .send({ error: `storage did not take the ${spec.record}s; retry later` });
          }
          records.inc({ result: 'accepted' }, decoded.rows.length);
          if (decoded.rejected > 0) records.inc({ result: 'rejected' }, decoded.rejected);
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
}
