// Typed client for the Kiln JSON API (same origin: the server serves this UI and /api on one port).
// Request and response types are the server's own (@kiln/api/http); types only, so the schemas'
// runtime stays out of the bundle.
import type {
  AgentsResponse,
  DiffQuery,
  DiffResponse,
  FlamegraphQuery,
  FlamegraphResponse,
  LabelsResponse,
  LabelValuesResponse,
  ProfileTypesResponse,
  SelectionQuery,
  SeriesQuery,
  SeriesResponse,
  SignalEpisodesQuery,
  SignalEpisodesResponse,
  SignalsQuery,
  SignalsResponse,
  SpanCompareQuery,
  SpanCompareResponse,
  SpanFlamegraphQuery,
  StatusResponse,
  TimeRangeQuery,
  TraceHeatmapQuery,
  TraceHeatmapResponse,
  TraceResponse,
  TracesQuery,
  TracesResponse,
} from '@kiln/api/http';

export type {
  DiffQuery,
  Series,
  SignalConnection,
  SignalEpisode,
  SignalEpisodesResponse,
  SignalKind,
  SignalsResponse,
  Span,
  SpanBreakdown,
  SpanCompareResponse,
  SpanGroup,
  SpanSummary,
  StatusResponse,
  StorageStatus,
  TraceHeatmapResponse,
  TraceResponse,
} from '@kiln/api/http';

/** A request that reached the server and got a non-2xx answer. */
export class ApiError extends Error {
  override name = 'ApiError';

  constructor(
    message: string,
    readonly status: number,
    readonly path: string,
  ) {
    super(message);
  }
}

export type Fetch = typeof fetch;

export interface RequestOptions {
  /** Cancels the request (e.g. when the component that asked for it goes away). */
  signal?: AbortSignal;
  /** SvelteKit's `fetch` inside a `load` function; the global one otherwise. */
  fetch?: Fetch;
}

type QueryValue = string | number | boolean | undefined;

/** `path` with `query` appended; `undefined` values are left out. */
export function withQuery(path: string, query: Record<string, QueryValue> = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) params.append(key, String(value));
  }
  const qs = params.toString();
  return qs === '' ? path : `${path}?${qs}`;
}

/**
 * GETs `path` and parses its JSON body as `T`.
 * Throws an {@link ApiError} carrying the server's `{ error }` message for non-2xx answers,
 * and lets network failures and aborts (`AbortError`) through as they are.
 */
export async function getJson<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const doFetch = options.fetch ?? fetch;
  const res = await doFetch(path, {
    headers: { accept: 'application/json' },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (!res.ok) throw new ApiError(await errorMessage(res), res.status, path);
  try {
    return (await res.json()) as T;
  } catch (err) {
    throw new ApiError(`invalid JSON from ${path}: ${describeError(err)}`, res.status, path);
  }
}

async function errorMessage(res: Response): Promise<string> {
  const fallback = `${res.status} ${res.statusText}`.trim();
  let text: string;
  try {
    text = await res.text();
  } catch {
    return fallback;
  }
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'string') {
      return body.error;
    }
  } catch {
    // not JSON (a proxy's HTML error page, say): fall through
  }
  const snippet = text.trim().slice(0, 200);
  return snippet === '' ? fallback : `${fallback}: ${snippet}`;
}

/** A one-line description of anything thrown. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

// ---- Query API

export const api = {
  status: (options?: RequestOptions) => getJson<StatusResponse>('/api/v1/status', options),

  flamegraph: (q: FlamegraphQuery, options?: RequestOptions) =>
    getJson<FlamegraphResponse>(withQuery('/api/v1/flamegraph', { ...q }), options),

  diff: (q: DiffQuery, options?: RequestOptions) => getJson<DiffResponse>(withQuery('/api/v1/diff', { ...q }), options),

  series: (q: SeriesQuery, options?: RequestOptions) => getJson<SeriesResponse>(withQuery('/api/v1/series', { ...q }), options),

  labels: async (q: SelectionQuery, options?: RequestOptions): Promise<string[]> =>
    (await getJson<LabelsResponse>(withQuery('/api/v1/labels', { ...q }), options)).names,

  labelValues: async (name: string, q: SelectionQuery, options?: RequestOptions): Promise<string[]> =>
    (await getJson<LabelValuesResponse>(withQuery(`/api/v1/labels/${encodeURIComponent(name)}/values`, { ...q }), options)).values,

  agents: (q: TimeRangeQuery, options?: RequestOptions) => getJson<AgentsResponse>(withQuery('/api/v1/agents', { ...q }), options),

  profileTypes: async (q: TimeRangeQuery, options?: RequestOptions): Promise<string[]> =>
    (await getJson<ProfileTypesResponse>(withQuery('/api/v1/profile-types', { ...q }), options)).profileTypes.map((t) => t.name),

  /** Link (not a fetch) to the gzip pprof of a selection. */
  pprofUrl: (q: SelectionQuery) => withQuery('/api/v1/pprof', { ...q }),

  traces: (q: TracesQuery, options?: RequestOptions) => getJson<TracesResponse>(withQuery('/api/v1/traces', { ...q }), options),

  trace: (id: string, options?: RequestOptions) => getJson<TraceResponse>(`/api/v1/traces/${encodeURIComponent(id)}`, options),

  traceHeatmap: (q: TraceHeatmapQuery, options?: RequestOptions) =>
    getJson<TraceHeatmapResponse>(withQuery('/api/v1/traces/heatmap', { ...q }), options),

  compareSpans: (q: SpanCompareQuery, options?: RequestOptions) =>
    getJson<SpanCompareResponse>(withQuery('/api/v1/traces/compare', { ...q }), options),

  spanFlamegraph: (id: string, q: SpanFlamegraphQuery = {}, options?: RequestOptions) =>
    getJson<FlamegraphResponse>(withQuery(`/api/v1/spans/${encodeURIComponent(id)}/flamegraph`, { ...q }), options),

  /** Throttled time, run-queue delay or retransmitted segments of a selection: total, series, top lists. */
  signals: (q: SignalsQuery, options?: RequestOptions) => getJson<SignalsResponse>(withQuery('/api/v1/signals', { ...q }), options),

  /** What happened in a range (one bucket, say): scheduler episodes, or connections that retransmitted. */
  signalEpisodes: (q: SignalEpisodesQuery, options?: RequestOptions) =>
    getJson<SignalEpisodesResponse>(withQuery('/api/v1/signals/episodes', { ...q }), options),

  /** Link (not a fetch) to the gzip pprof of one span's CPU samples. */
  spanPprofUrl: (id: string) => `/api/v1/spans/${encodeURIComponent(id)}/pprof`,
};
