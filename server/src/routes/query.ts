// The query API (shared/API.md): flame graph, diff, pprof export, series, labels, profiles.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Histogram } from 'prom-client';
import { Type, type TSchema } from 'typebox';
import { HttpError, badRequest } from '../http/http-error.js';
import { isGzip } from '../ingest/body.js';
import { addFolded, FOLDED_TYPES } from '../ingest/folded.js';
import { UploadBuilder } from '../ingest/rows.js';
import { defaultIngestLimits } from '../ingest/limits.js';
import { Catalog, type FunctionInfo } from '../catalog.js';
import { QueryEngine, unitsOf, type Selection } from '../query/engine.js';
import { buildPprof, encodePprofGzip } from '../query/pprof-export.js';
import { parseSelector, type Selector } from '../query/selector.js';
import { Params, seriesSubquery } from '../query/sql.js';
import { parseRange, parseStep, type TimeRange } from '../query/time.js';
import { T } from '../storage/tables.js';

export const DEFAULT_MAX_NODES = 8192;
const MAX_SERIES_POINTS = 11_000;

const Str = (description: string) => Type.Optional(Type.String({ description }));
const SEL = 'selector, e.g. cpu{service="checkout",version!="v1"}; {} selects everything (type cpu)';
const TIME = 'now, now-1h, unix seconds, unix milliseconds or RFC 3339';
const ErrorBody = Type.Object({ error: Type.String() });
const Metadata = Type.Object(
  {
    format: Type.Union([Type.Literal('single'), Type.Literal('double')]),
    name: Type.String({ description: 'profile type' }),
    units: Type.String({ description: 'nanoseconds, samples, bytes, objects, …' }),
    unit: Type.String({ description: 'the pprof unit of the profile type' }),
    truncated: Type.Boolean({ description: 'whether frames were folded into `other` nodes to stay under maxNodes' }),
    maxNodes: Type.Integer(),
    frames: Type.Optional(
      Type.Object(
        {
          files: Type.Array(Type.String(), { description: "source file, '' when unknown or not the same for every function of that name" }),
          lines: Type.Array(Type.Integer(), { description: 'line the function starts at, 0 when unknown' }),
          binaries: Type.Array(Type.String(), { description: "base name of the binary (pprof mapping), '' when unknown" }),
        },
        { description: 'where each frame comes from, parallel to flamebearer.names' },
      ),
    ),
  },
  { additionalProperties: true },
);
const Flamebearer = Type.Object({
  names: Type.Array(Type.String(), { description: 'frame names; names[0] is the root, "total"' }),
  levels: Type.Array(Type.Array(Type.Number()), {
    description: 'one flat list per depth: [xOffsetDelta, total, self, nameIndex] quadruples (diff: [lOffsetDelta, lTotal, lSelf, rOffsetDelta, rTotal, rSelf, nameIndex] septuples)',
  }),
  numTicks: Type.Number({ description: 'total of the root (diff: leftTicks + rightTicks)' }),
  maxSelf: Type.Number(),
});
const FlamegraphResponse = Type.Object({ flamebearer: Flamebearer, metadata: Metadata });
const DiffResponse = Type.Object({
  flamebearer: Type.Intersect([Flamebearer, Type.Object({ leftTicks: Type.Number(), rightTicks: Type.Number() })]),
  metadata: Metadata,
  leftTicks: Type.Number(),
  rightTicks: Type.Number(),
});
const SeriesResponse = Type.Object({
  series: Type.Array(
    Type.Object({
      labels: Type.Record(Type.String(), Type.String()),
      points: Type.Array(Type.Tuple([Type.Number(), Type.Number()])),
      total: Type.Number(),
      firstSeen: Type.Union([Type.Number(), Type.Null()], { description: 'unix ms: start of the first profile with samples of this series in the range (null: none)' }),
      lastSeen: Type.Union([Type.Number(), Type.Null()], { description: 'unix ms: start of the last profile with samples of this series in the range' }),
    }),
  ),
  step: Type.Integer({ description: 'seconds per point' }),
  from: Type.Integer({ description: 'unix ms of the first point' }),
  until: Type.Integer(),
  metadata: Type.Object({ name: Type.String(), units: Type.String(), unit: Type.String() }),
});
const ProfileTypesResponse = Type.Object({
  profileTypes: Type.Array(Type.Object({ name: Type.String(), unit: Type.String(), units: Type.String() })),
});
const LabelsResponse = Type.Object({ names: Type.Array(Type.String()) });
const LabelValuesResponse = Type.Object({ name: Type.String(), values: Type.Array(Type.String()) });
const ProfilesResponse = Type.Object({
  profiles: Type.Array(
    Type.Object({
      id: Type.String(),
      from: Type.Number({ description: 'unix ms' }),
      until: Type.Number({ description: 'unix ms' }),
      service: Type.String({ description: 'the application name of the upload (name=APP)' }),
      labels: Type.Record(Type.String(), Type.String(), { description: 'labels of the upload from name=APP{…}' }),
      profileTypes: Type.Array(Type.String()),
      format: Type.String({ description: 'pprof or folded' }),
      spyName: Type.String(),
      sampleRate: Type.Number(),
      samples: Type.Integer({ description: 'samples (or folded lines) in the upload' }),
      sizeBytes: Type.Integer(),
    }),
  ),
});

function schema(summary: string, querystring: TSchema, ok: TSchema | undefined, extra: Record<string, unknown> = {}) {
  return {
    summary,
    tags: ['query'],
    querystring,
    response: { ...(ok === undefined ? {} : { 200: ok }), 400: ErrorBody, 404: ErrorBody },
    ...extra,
  };
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
  const timed = async <R>(endpoint: string, work: () => Promise<R>): Promise<R> => {
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
  };
  const sendJson = (reply: FastifyReply, body: unknown) => reply.type('application/json; charset=utf-8').send(JSON.stringify(body));

  app.get(
    '/api/v1/flamegraph',
    { schema: schema('Merged flame graph of a selection', Type.Object({ query: Str(SEL), from: Str(TIME), until: Str(TIME), maxNodes: Str(`node cap (default ${DEFAULT_MAX_NODES})`) }), FlamegraphResponse) },
    async (request, reply) => {
      const q = request.query as Record<string, string | undefined>;
      const sel = selection(q.query, 'query', parseRange(q.from, q.until));
      const maxNodes = parseMaxNodes(q.maxNodes);
      const body = await timed('flamegraph', async () => {
        const r = await engine.flamegraph(sel, maxNodes);
        return { flamebearer: r.flamebearer, metadata: { ...(await engine.metadata(sel.selector.profileType, 'single')), truncated: r.truncated, maxNodes, frames: r.frames } };
      });
      return sendJson(reply, body);
    },
  );

  app.get(
    '/api/v1/diff',
    {
      schema: schema(
        'Differential flame graph of two selections, computed in one scan',
        Type.Object({
          left: Str(`left ${SEL}`),
          right: Str(`right ${SEL}`),
          from: Str(TIME),
          until: Str(TIME),
          leftFrom: Str('left side start (default: from)'),
          leftUntil: Str('left side end (default: until)'),
          rightFrom: Str('right side start (default: from)'),
          rightUntil: Str('right side end (default: until)'),
          maxNodes: Str(`node cap (default ${DEFAULT_MAX_NODES})`),
        }),
        DiffResponse,
      ),
    },
    async (request, reply) => {
      const q = request.query as Record<string, string | undefined>;
      const now = Date.now();
      const common = parseRange(q.from, q.until, undefined, now);
      const side = (f: string | undefined, u: string | undefined, which: string): TimeRange =>
        f === undefined && u === undefined
          ? common
          : parseRange(f ?? String(common.fromMs), u ?? String(common.untilMs), { from: `${which}From`, until: `${which}Until` }, now);
      if (q.left === undefined || q.right === undefined) throw badRequest('left and right selectors are required');
      const left = selection(q.left, 'left', side(q.leftFrom, q.leftUntil, 'left'));
      const right = selection(q.right, 'right', side(q.rightFrom, q.rightUntil, 'right'));
      const maxNodes = parseMaxNodes(q.maxNodes);
      const body = await timed('diff', async () => {
        const r = await engine.diff(left, right, maxNodes);
        return {
          flamebearer: { ...r.flamebearer, leftTicks: r.leftTicks, rightTicks: r.rightTicks },
          metadata: { ...(await engine.metadata(left.selector.profileType, 'double')), truncated: r.truncated, maxNodes, frames: r.frames },
          leftTicks: r.leftTicks,
          rightTicks: r.rightTicks,
        };
      });
      return sendJson(reply, body);
    },
  );

  app.get(
    '/api/v1/pprof',
    {
      schema: schema('A selection as a gzipped pprof profile (go tool pprof reads it)', Type.Object({ query: Str(SEL), from: Str(TIME), until: Str(TIME) }), undefined, {
        produces: ['application/octet-stream'],
      }),
    },
    async (request, reply) => {
      const q = request.query as Record<string, string | undefined>;
      const sel = selection(q.query, 'query', parseRange(q.from, q.until));
      const bytes = await timed('pprof', async () => {
        const { rows } = await engine.exportRows(sel);
        const unit = await engine.unit(sel.selector.profileType);
        return encodePprofGzip(buildPprof({ profileType: sel.selector.profileType, unit, fromMs: sel.range.fromMs, untilMs: sel.range.untilMs, rows }));
      });
      return reply
        .type('application/octet-stream')
        .header('content-disposition', `attachment; filename="${sel.selector.profileType}.pb.gz"`)
        .send(bytes);
    },
  );

  app.get(
    '/api/v1/series',
    {
      schema: schema(
        'Sample totals over time (dense points, one series per groupBy value)',
        Type.Object({ query: Str(SEL), from: Str(TIME), until: Str(TIME), step: Str('seconds per point, e.g. 10s, 1m (default: range/300, at least 10s)'), groupBy: Str('label name') }),
        SeriesResponse,
      ),
    },
    async (request, reply) => {
      const q = request.query as Record<string, string | undefined>;
      const sel = selection(q.query, 'query', parseRange(q.from, q.until));
      const rangeS = (sel.range.untilMs - sel.range.fromMs) / 1000;
      const step = q.step === undefined || q.step === '' ? Math.max(10, Math.ceil(rangeS / 300)) : parseStep(q.step);
      if (rangeS / step > MAX_SERIES_POINTS) throw badRequest(`step ${step}s gives more than ${MAX_SERIES_POINTS} points over the range; use a larger step`);
      const groupBy = q.groupBy === undefined || q.groupBy === '' ? undefined : checkLabelName(q.groupBy, 'groupBy');
      const body = await timed('series', async () => {
        const r = await engine.series(sel, step, groupBy);
        const meta = await engine.metadata(sel.selector.profileType, 'single');
        return {
          series: r.groups.map((g) => {
            let total = 0;
            const points: [number, number][] = [];
            for (let i = 0; i < r.buckets; i++) {
              total += g.values[i]!;
              points.push([(r.startS + i * step) * 1000, g.values[i]!]);
            }
            const ms = (x: number): number | null => (Number.isFinite(x) ? x * 1000 : null);
            return { labels: g.labels, points, total, firstSeen: ms(g.firstS), lastSeen: ms(g.lastS) };
          }),
          step,
          from: r.startS * 1000,
          until: (r.startS + r.buckets * step) * 1000,
          metadata: { name: meta.name, units: meta.units, unit: meta.unit },
        };
      });
      return sendJson(reply, body);
    },
  );

  app.get(
    '/api/v1/profile-types',
    { schema: schema('Profile types present in the range', Type.Object({ from: Str(TIME), until: Str(TIME) }), ProfileTypesResponse) },
    async (request) => {
      const q = request.query as Record<string, string | undefined>;
      const range = parseRange(q.from, q.until);
      return timed('profile-types', async () => {
        const p = new Params();
        const rows = await engine.json<{ name: string; unit: string }>(
          `SELECT profile_type AS name, any(unit) AS unit FROM ${T.series} WHERE ${engine.seriesWhere(undefined, range, p)} GROUP BY profile_type ORDER BY profile_type`,
          p,
        );
        return { profileTypes: rows.map((r) => ({ name: r.name, unit: r.unit, units: unitsOf(r.name, r.unit) })) };
      });
    },
  );

  app.get(
    '/api/v1/labels',
    { schema: schema('Label names in the range (of the selection when query is given)', Type.Object({ query: Str(SEL), from: Str(TIME), until: Str(TIME) }), LabelsResponse) },
    async (request) => {
      const q = request.query as Record<string, string | undefined>;
      const range = parseRange(q.from, q.until);
      const sel = q.query === undefined || q.query === '' ? undefined : parseSelector(q.query);
      return timed('labels', async () => {
        const p = new Params();
        const rows = await engine.json<{ name: string }>(
          `SELECT DISTINCT arrayJoin(mapKeys(labels)) AS name FROM ${T.series} WHERE ${engine.seriesWhere(sel, range, p)} ORDER BY name`,
          p,
        );
        return { names: rows.map((r) => r.name) };
      });
    },
  );

  app.get(
    '/api/v1/labels/:name/values',
    {
      schema: schema('Values of one label in the range (of the selection when query is given)', Type.Object({ query: Str(SEL), from: Str(TIME), until: Str(TIME) }), LabelValuesResponse, {
        params: Type.Object({ name: Type.String() }),
      }),
    },
    async (request) => {
      const q = request.query as Record<string, string | undefined>;
      const name = checkLabelName((request.params as { name: string }).name, 'label name');
      const range = parseRange(q.from, q.until);
      const sel = q.query === undefined || q.query === '' ? undefined : parseSelector(q.query);
      return timed('label-values', async () => {
        const p = new Params();
        const key = p.add('String', name);
        const rows = await engine.json<{ value: string }>(
          `SELECT DISTINCT labels[${key}] AS value FROM ${T.series} WHERE ${engine.seriesWhere(sel, range, p)} AND mapContains(labels, ${key}) ORDER BY value`,
          p,
        );
        return { name, values: rows.map((r) => r.value) };
      });
    },
  );

  app.get(
    '/api/v1/profiles',
    {
      schema: schema(
        'Uploaded profiles holding samples of the selection, newest first',
        Type.Object({ query: Str(SEL), from: Str(TIME), until: Str(TIME), limit: Str('at most this many (default 100, at most 10000)') }),
        ProfilesResponse,
      ),
    },
    async (request) => {
      const q = request.query as Record<string, string | undefined>;
      const range = parseRange(q.from, q.until);
      const sel = parseSelector(q.query);
      const limit = q.limit === undefined || q.limit === '' ? 100 : Number(q.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw badRequest('limit must be an integer from 1 to 10000');
      return timed('profiles', async () => {
        const p = new Params();
        const conds = [
          `time >= fromUnixTimestamp64Milli(toInt64(${p.add('Int64', Math.floor(range.fromMs))}))`,
          `time < fromUnixTimestamp64Milli(toInt64(${p.add('Int64', Math.ceil(range.untilMs))}))`,
          `has(profile_types, ${p.add('String', sel.profileType)})`,
        ];
        if (sel.matchers.length > 0) {
          const sub = seriesSubquery(sel, range, p, { always: true });
          conds.push(`hasAny(series_fps, (SELECT groupUniqArray(series_fp) FROM (${sub})))`);
        }
        const rows = await engine.json<{
          id: string;
          from: string;
          until: string;
          service: string;
          labels: Record<string, string>;
          profile_types: string[];
          format: string;
          spy_name: string;
          sample_rate: number;
          samples: number;
          size: number;
        }>(
          `SELECT toString(id) AS id, toUnixTimestamp64Milli(time) AS from, toUnixTimestamp64Milli(until) AS until, service, labels, profile_types,
                  format, spy_name, sample_rate, samples, size
           FROM ${T.profiles} WHERE ${conds.join(' AND ')} ORDER BY time DESC LIMIT ${p.add('UInt32', limit)}`,
          p,
        );
        return {
          profiles: rows.map((r) => ({
            id: r.id,
            from: Number(r.from),
            until: Number(r.until),
            service: r.service,
            labels: r.labels,
            profileTypes: r.profile_types,
            format: r.format,
            spyName: r.spy_name,
            sampleRate: r.sample_rate,
            samples: r.samples,
            sizeBytes: r.size,
          })),
        };
      });
    },
  );

  app.get(
    '/api/v1/profiles/:id/pprof',
    {
      schema: {
        summary: 'One uploaded profile as stored (pprof as uploaded; folded uploads converted to gzipped pprof)',
        tags: ['query'],
        params: Type.Object({ id: Type.String({ description: 'profile id (UUID) from /api/v1/profiles or the ingest answer' }) }),
        produces: ['application/octet-stream'],
        response: { 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const id = (request.params as { id: string }).id;
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw badRequest(`profile id ${JSON.stringify(id.slice(0, 64))} is not a UUID`);
      const row = await timed('profile', async () => {
        const p = new Params();
        const rows = await engine.json<{ format: string; payload: string; service: string; labels: Record<string, string>; sample_rate: number; time: string; until: string }>(
          `SELECT format, base64Encode(payload) AS payload, service, labels, sample_rate, toUnixTimestamp64Milli(time) AS time, toUnixTimestamp64Milli(until) AS until
           FROM ${T.profiles} WHERE id = ${p.add('UUID', id)} LIMIT 1`,
          p,
        );
        return rows[0];
      });
      if (row === undefined) throw new HttpError(404, `no profile ${id}`);
      let bytes: Buffer = Buffer.from(row.payload, 'base64');
      if (row.format === 'folded') bytes = await foldedAsPprof(bytes.toString('utf8'), row);
      return reply
        .type('application/octet-stream')
        .header('content-disposition', `attachment; filename="${id}.pb${isGzip(bytes) ? '.gz' : ''}"`)
        .send(bytes);
    },
  );
}

function selection(raw: string | undefined, param: string, range: TimeRange): Selection {
  return { selector: parseSelector(raw === undefined || raw === '' ? '{}' : raw, param), range };
}

function parseMaxNodes(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_MAX_NODES;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw badRequest('maxNodes must be an integer from 1 to 1000000');
  return n;
}

function checkLabelName(name: string, what: string): string {
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

/** A stored folded upload as a gzipped pprof (the folded text has no pprof of its own). */
async function foldedAsPprof(text: string, row: { service: string; labels: Record<string, string>; sample_rate: number; time: string; until: string }): Promise<Buffer> {
  const b = new UploadBuilder(new Catalog(), { ...defaultIngestLimits, maxSamplesPerProfile: Number.MAX_SAFE_INTEGER }, FOLDED_TYPES, {
    fromMs: Number(row.time),
    untilMs: Number(row.until),
    format: 'folded',
    spyName: '',
    sampleRate: row.sample_rate,
    nameLabels: new Map(Object.entries(row.labels)),
    id: '',
  });
  const catalog = b.catalog;
  addFolded(text, b, new Map(Object.entries(row.labels)), row.sample_rate || 100);
  const rows = b.rows;
  const out: { labels: Record<string, string>; frames: FunctionInfo[]; value: number }[] = [];
  for (let i = 0; i < rows.samples.length; i++) {
    const frames = (catalog.stacks.get(rows.samples.stackHash(i)) ?? []).map((f) => catalog.functions.get(f)!);
    out.push({ labels: row.labels, frames, value: rows.samples.value(i) });
  }
  return encodePprofGzip(buildPprof({ profileType: 'cpu', unit: 'nanoseconds', fromMs: Number(row.time), untilMs: Number(row.until), rows: out }));
}

export type { Selector };
