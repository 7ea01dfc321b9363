// POST /ingest: Pyroscope's ingest API (pprof and folded), which our agent uses too.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBody, IngestQuery, IngestResponse } from '@kiln/api/http';
import type { Catalog } from '../catalog.js';
import { decodeContentEncoding, gunzipLimited, isGzip, multipartProfile } from '../ingest/body.js';
import { addFolded, FOLDED_TYPES } from '../ingest/folded.js';
import { parseAppName } from '../ingest/labels.js';
import { IngestError, TokenBucket, type IngestLimits } from '../ingest/limits.js';
import { PprofError } from '@kiln/api/pprof';
import { addPprof, decodePprof, sampleTypes } from '../ingest/pprof.js';
import { UploadBuilder, type UploadRows } from '../ingest/rows.js';
import { InsertBatcher } from '../ingest/writer.js';
import { HttpError } from '../http/http-error.js';
import { native } from '../native.js';
import { parseTime } from '../query/time.js';

declare module 'fastify' {
  interface FastifyRequest {
    kilnInflight?: number;
  }
}

export interface IngestRouteOptions {
  limits: IngestLimits;
  /** Batches written at once (1 for embedded chDB). */
  concurrency: number;
}

export const ingestRoutes: FastifyPluginAsyncTypebox<IngestRouteOptions> = async (app, opts) => {
  const { limits } = opts;
  native(); // uploads are gunzipped by the addon: a server without it does not start
  const state = { inflight: 0 };
  const m = ingestMetrics(app, state);
  const batcher = new InsertBatcher(app.insertTsv, app.catalog, {
    lingerMs: limits.batchLingerMs,
    maxRows: limits.batchMaxRows,
    uploadLingerMs: limits.uploadLingerMs,
    uploadMaxBytes: limits.uploadMaxBytes,
    concurrency: opts.concurrency,
    onFlush: (seconds, rows, uploads, ok) => {
      m.insertSeconds.observe({ result: ok ? 'ok' : 'error' }, seconds);
      if (ok) m.batchRows.observe(rows);
      m.batchUploads.observe(uploads);
    },
    onRawFlush: (seconds, uploads, ok) => {
      m.rawInsertSeconds.observe({ result: ok ? 'ok' : 'error' }, seconds);
      m.rawBatchUploads.observe(uploads);
    },
  });
  app.addHook('onClose', () => batcher.close());
  const bucket = limits.rateBytesPerSecond > 0 ? new TokenBucket(limits.rateBytesPerSecond, limits.rateBytesPerSecond * 10) : undefined;

  const reject = (reply: FastifyReply, status: number, reason: string, error: string, retryAfter?: number) => {
    m.rejected.inc({ reason });
    app.ingestSummary.refused(reason);
    if (retryAfter !== undefined) void reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfter))));
    return reply.code(status).send({ error });
  };

  // Raw bodies of any type; the handler decodes them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limits.maxBodyBytes }, (_req, body, done) => done(null, body));

  // Over-limit uploads are turned away before their body is read.
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const declared = Number(request.headers['content-length'] ?? 0) || 0;
    if (declared > limits.maxBodyBytes) {
      return reject(reply, 413, 'too_large', `request body of ${declared} bytes is over the limit of ${limits.maxBodyBytes} bytes`);
    }
    const cost = Math.max(declared, 1024);
    if (state.inflight > 0 && state.inflight + cost > limits.maxInflightBytes) {
      return reject(reply, 429, 'rate_limited', `the server is busy storing ${state.inflight} bytes of uploads; retry later`, 1);
    }
    if (bucket !== undefined) {
      const wait = bucket.take(cost);
      if (wait > 0)
        return reject(reply, 429, 'rate_limited', `ingest rate limit of ${limits.rateBytesPerSecond} bytes/s exceeded; retry later`, wait);
    }
    state.inflight += cost;
    request.kilnInflight = cost;
  });
  const release = async (request: FastifyRequest) => {
    if (request.kilnInflight !== undefined) {
      state.inflight -= request.kilnInflight;
      request.kilnInflight = undefined;
    }
  };
  app.addHook('onResponse', release);
  app.addHook('onRequestAbort', release);

  app.post(
    '/ingest',
    {
      bodyLimit: limits.maxBodyBytes,
      schema: {
        summary: 'Store one profile (Pyroscope-compatible)',
        description:
          'Body: pprof (raw or gzip, or a multipart/form-data `profile` field) or folded text (`a;b;c N` lines). ' +
          'Content-Encoding: gzip is accepted. 200 only after the samples are stored. Sample string labels of a pprof ' +
          'become series labels over the ones from `name`.',
        tags: ['ingest'],
        querystring: IngestQuery,
        consumes: ['application/octet-stream', 'multipart/form-data', 'text/plain'],
        response: { 200: IngestResponse, 400: ErrorBody, 413: ErrorBody, 415: ErrorBody, 429: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const raw = request.body;
      if (!Buffer.isBuffer(raw) || raw.length === 0) return reject(reply, 400, 'empty', 'the request body is empty: send a profile');
      m.bytes.inc(raw.length);
      let rows: UploadRows;
      let format: string;
      try {
        const decoded = decodeContentEncoding(raw, request.headers['content-encoding'], limits.maxProfileBytes);
        const contentType = request.headers['content-type'] ?? '';
        const payload = /^multipart\/form-data/i.test(contentType) ? multipartProfile(decoded, contentType) : decoded;
        format = (q.format ?? '').toLowerCase() || (isGzip(payload) || /^multipart\//i.test(contentType) ? 'pprof' : 'folded');
        rows = buildRows(format, payload, q, limits, app.catalog);
      } catch (err) {
        if (err instanceof IngestError || err instanceof HttpError) {
          const reason = err instanceof IngestError ? err.reason : 'bad_request';
          return reject(reply, err.statusCode, reason, err.message);
        }
        if (err instanceof PprofError) return reject(reply, 400, 'bad_pprof', err.message);
        throw err;
      }
      try {
        await batcher.write(rows);
      } catch (err) {
        request.log.error({ err }, 'ingest: insert failed');
        return reject(reply, 503, 'storage', 'storage did not take the profile; retry later', 5);
      }
      m.profiles.inc({ format });
      m.samples.inc(rows.samples.length);
      app.ingestSummary.stored(request.ip, rows.samples.length);
      if (rows.truncatedStacks > 0) m.truncated.inc(rows.truncatedStacks);
      return { id: rows.profile.id, samples: rows.samples.length };
    },
  );
};

function buildRows(format: string, payload: Buffer, q: IngestQuery, limits: IngestLimits, catalog: Catalog): UploadRows {
  if (q.name === undefined || q.name === '')
    throw new IngestError(400, 'the name parameter is required, e.g. name=checkout{env=prod}', 'bad_name');
  const nameLabels = parseAppName(q.name);
  const sampleRate = q.sampleRate === undefined || q.sampleRate === '' ? 100 : Number(q.sampleRate);
  if (!Number.isFinite(sampleRate) || sampleRate <= 0 || sampleRate > 1e9) {
    throw new IngestError(400, `sampleRate=${JSON.stringify(q.sampleRate)} must be a positive number`, 'bad_request');
  }
  const now = Date.now();
  const common = { format, spyName: q.spyName ?? '', sampleRate: Math.round(sampleRate), nameLabels, id: randomUUID() };
  if (format === 'pprof') {
    const bytes = isGzip(payload) ? gunzipLimited(payload, limits.maxProfileBytes, 'the pprof profile') : payload;
    if (bytes.length > limits.maxProfileBytes)
      throw new IngestError(413, `the profile is larger than ${limits.maxProfileBytes} bytes (limit)`, 'too_large');
    const profile = decodePprof(bytes);
    const types = sampleTypes(profile);
    const timeNanos = Number(profile.timeNanos ?? 0);
    const fromMs = q.from ? parseTime(q.from, 'from', now) : timeNanos > 0 ? timeNanos / 1e6 : now;
    const untilMs = q.until ? parseTime(q.until, 'until', now) : fromMs + Math.max(0, Number(profile.durationNanos ?? 0) / 1e6);
    const b = new UploadBuilder(catalog, limits, types, { ...common, fromMs, untilMs });
    addPprof(profile, b, nameLabels);
    return b.finish(payload);
  }
  if (format === 'folded' || format === 'lines') {
    if (payload.length > limits.maxProfileBytes)
      throw new IngestError(413, `the profile is larger than ${limits.maxProfileBytes} bytes (limit)`, 'too_large');
    const fromMs = q.from ? parseTime(q.from, 'from', now) : now;
    const untilMs = q.until ? parseTime(q.until, 'until', now) : fromMs;
    const text = (isGzip(payload) ? gunzipLimited(payload, limits.maxProfileBytes, 'the folded profile') : payload).toString('utf8');
    const b = new UploadBuilder(catalog, limits, FOLDED_TYPES, { ...common, format: 'folded', fromMs, untilMs });
    addFolded(text, b, nameLabels, sampleRate);
    return b.finish(Buffer.from(text));
  }
  throw new IngestError(415, `format=${JSON.stringify(format)} is not supported: use pprof or folded`, 'bad_format');
}

function ingestMetrics(app: FastifyInstance, state: { inflight: number }) {
  const registers = [app.metrics];
  return {
    bytes: new Counter({ name: 'kiln_ingest_bytes_total', help: 'Request body bytes received on /ingest.', registers }),
    profiles: new Counter({ name: 'kiln_ingest_profiles_total', help: 'Profiles stored.', labelNames: ['format'], registers }),
    samples: new Counter({
      name: 'kiln_ingest_samples_total',
      help: 'Sample rows stored (one per stack, series and profile type).',
      registers,
    }),
    rejected: new Counter({ name: 'kiln_ingest_rejected_total', help: 'Uploads refused, by reason.', labelNames: ['reason'], registers }),
    truncated: new Counter({ name: 'kiln_ingest_truncated_stacks_total', help: 'Stacks cut to the depth limit.', registers }),
    insertSeconds: new Histogram({
      name: 'kiln_ingest_insert_duration_seconds',
      help: 'Time to write one batch of sample rows (with the functions, stacks and series they need) to storage.',
      labelNames: ['result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    batchRows: new Histogram({
      name: 'kiln_ingest_batch_rows',
      help: 'Sample rows per insert batch.',
      buckets: [100, 1000, 10_000, 50_000, 100_000, 200_000, 500_000],
      registers,
    }),
    batchUploads: new Histogram({
      name: 'kiln_ingest_batch_uploads',
      help: 'Uploads per insert batch.',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers,
    }),
    rawInsertSeconds: new Histogram({
      name: 'kiln_ingest_raw_insert_duration_seconds',
      help: 'Time to store one batch of uploads as received (kiln_profiles).',
      labelNames: ['result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    rawBatchUploads: new Histogram({
      name: 'kiln_ingest_raw_batch_uploads',
      help: 'Uploads per insert of uploads as received.',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    }),
    inflight: new Gauge({
      name: 'kiln_ingest_inflight_bytes',
      help: 'Upload bytes being parsed or waiting for their insert.',
      registers,
      collect() {
        this.set(state.inflight);
      },
    }),
  };
}
