// Typed client for the Kiln JSON API (same origin: the server serves this UI and /api on one port).
import type { FlamebearerProfile } from './flamegraph/tree';

export type { FlamebearerProfile };

/** `GET /api/v1/status` */
export interface ServerStatus {
	version: string;
	storage: StorageStatus;
}

export interface StorageStatus {
	/** `embedded`: chDB inside the server process; `clickhouse`: a ClickHouse server over HTTP. */
	mode: 'embedded' | 'clickhouse';
	/** Data directory of embedded storage. */
	path?: string;
	/** ClickHouse URL (without credentials). */
	url?: string;
	schemaVersion: number;
}

/** A request that reached the server and got a non-2xx answer. */
export class ApiError extends Error {
	override name = 'ApiError';

	constructor(
		message: string,
		readonly status: number,
		readonly path: string
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
		...(options.signal ? { signal: options.signal } : {})
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

/** True for the rejection of a request cancelled through its `AbortSignal`. */
export function isAbort(err: unknown): boolean {
	return err instanceof DOMException && err.name === 'AbortError';
}

// ---- Query API (API.md). Bodies that API.md does not fix (series, labels) are normalised by the
// functions below, which accept the plausible shapes, so a server change touches one place.

/** A time as the API takes it: unix s / ms, RFC 3339, `now`, `now-15m`. */
export type TimeParam = string;

export interface Selection {
	/** Selector, e.g. `cpu{service="checkout"}`; `{}` selects everything. */
	query: string;
	from: TimeParam;
	until: TimeParam;
}

export interface SeriesPoint {
	/** unix ms */
	t: number;
	v: number;
}

export interface Series {
	labels: Record<string, string>;
	points: SeriesPoint[];
	/** unix ms of the first and last profile with samples of this series (Kiln), whatever the step. */
	firstSeen?: number;
	lastSeen?: number;
}

export interface SeriesResult {
	series: Series[];
	/** Unit of the values (`metadata.units`), e.g. `nanoseconds`, `samples`. */
	units?: string;
}

function asRecord(x: unknown): Record<string, unknown> | undefined {
	return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : undefined;
}

/** unix seconds or ms (or an RFC 3339 string) → unix ms. */
function toMs(t: unknown): number {
	if (typeof t === 'string') {
		const n = Number(t);
		if (Number.isFinite(n)) return toMs(n);
		return Date.parse(t);
	}
	if (typeof t !== 'number') return NaN;
	return t < 1e11 ? t * 1000 : t > 1e14 ? t / 1e6 : t;
}

function toPoints(x: Record<string, unknown>): SeriesPoint[] {
	const pts: SeriesPoint[] = [];
	const raw = x['points'] ?? x['values'] ?? x['samples'] ?? x['data'];
	const ts = x['timestamps'] ?? x['times'] ?? x['t'];
	if (Array.isArray(ts) && Array.isArray(raw)) {
		for (let i = 0; i < ts.length; i++) pts.push({ t: toMs(ts[i]), v: Number(raw[i] ?? 0) });
	} else if (Array.isArray(raw)) {
		for (const p of raw) {
			if (Array.isArray(p)) pts.push({ t: toMs(p[0]), v: Number(p[1] ?? 0) });
			else {
				const o = asRecord(p);
				if (o) pts.push({ t: toMs(o['t'] ?? o['timestamp'] ?? o['time'] ?? o['ts']), v: Number(o['v'] ?? o['value'] ?? o['total'] ?? 0) });
			}
		}
	}
	return pts.filter((p) => Number.isFinite(p.t)).sort((a, b) => a.t - b.t);
}

function toLabels(x: unknown): Record<string, string> {
	const out: Record<string, string> = {};
	if (Array.isArray(x)) {
		for (const l of x) {
			const o = asRecord(l);
			if (o && typeof o['name'] === 'string') out[o['name']] = String(o['value'] ?? '');
		}
		return out;
	}
	const o = asRecord(x);
	if (o) for (const [k, v] of Object.entries(o)) out[k] = String(v);
	return out;
}

/** `/api/v1/series` body → series of points (unix ms). */
export function normalizeSeries(body: unknown, groupBy?: string): SeriesResult {
	const out = normalizeSeriesList(body, groupBy);
	const meta = asRecord(asRecord(body)?.['metadata']);
	const units = meta?.['units'] ?? meta?.['unit'] ?? asRecord(body)?.['units'];
	return typeof units === 'string' ? { ...out, units } : out;
}

function normalizeSeriesList(body: unknown, groupBy?: string): SeriesResult {
	const root = asRecord(body);
	let list: unknown[] | undefined;
	if (Array.isArray(body)) list = body;
	else if (root) {
		const s = root['series'] ?? root['data'] ?? root['results'];
		if (Array.isArray(s)) list = s;
		else if (asRecord(s)) list = Object.entries(s as Record<string, unknown>).map(([k, v]) => ({ ...(asRecord(v) ?? { points: v }), __key: k }));
		else if (asRecord(root['timeline'])) {
			// Pyroscope: { timeline: { startTime (s), samples: [], durationDelta (s) } }
			const tl = root['timeline'] as Record<string, unknown>;
			const start = Number(tl['startTime'] ?? 0);
			const delta = Number(tl['durationDelta'] ?? 10);
			const samples = Array.isArray(tl['samples']) ? (tl['samples'] as unknown[]) : [];
			return { series: [{ labels: {}, points: samples.map((v, i) => ({ t: (start + i * delta) * 1000, v: Number(v) })) }] };
		} else if (root['timestamps'] !== undefined || root['points'] !== undefined) list = [root];
	}
	const series: Series[] = [];
	for (const item of list ?? []) {
		const o = asRecord(item);
		if (!o) continue;
		const labels = toLabels(o['labels'] ?? o['metric'] ?? o['group'] ?? {});
		if (groupBy !== undefined && labels[groupBy] === undefined) {
			const key = o[groupBy] ?? o['value'] ?? o['key'] ?? o['__key'];
			if (typeof key === 'string' || typeof key === 'number') labels[groupBy] = String(key);
		}
		const s: Series = { labels, points: toPoints(o) };
		if (typeof o['firstSeen'] === 'number') s.firstSeen = o['firstSeen'];
		if (typeof o['lastSeen'] === 'number') s.lastSeen = o['lastSeen'];
		series.push(s);
	}
	return { series };
}

/** `/api/v1/labels` or `/api/v1/labels/NAME/values` body → strings. */
export function normalizeStrings(body: unknown): string[] {
	let list: unknown = body;
	const o = asRecord(body);
	if (o) list = o['values'] ?? o['names'] ?? o['labels'] ?? o['data'] ?? o['types'] ?? o['profileTypes'] ?? [];
	if (!Array.isArray(list)) return [];
	const out: string[] = [];
	for (const x of list) {
		if (typeof x === 'string') out.push(x);
		else {
			const r = asRecord(x);
			const v = r?.['name'] ?? r?.['value'] ?? r?.['id'] ?? r?.['type'];
			if (typeof v === 'string') out.push(v);
		}
	}
	return out;
}

export interface DiffQuery {
	left: string;
	right: string;
	from: TimeParam;
	until: TimeParam;
	leftFrom?: TimeParam;
	leftUntil?: TimeParam;
	rightFrom?: TimeParam;
	rightUntil?: TimeParam;
	maxNodes?: number;
}

export const api = {
	status: (options?: RequestOptions) => getJson<ServerStatus>('/api/v1/status', options),

	flamegraph: (sel: Selection & { maxNodes?: number }, options?: RequestOptions) =>
		getJson<FlamebearerProfile>(withQuery('/api/v1/flamegraph', { ...sel }), options),

	diff: (q: DiffQuery, options?: RequestOptions) => getJson<FlamebearerProfile>(withQuery('/api/v1/diff', { ...q }), options),

	series: async (sel: Selection & { step?: string; groupBy?: string }, options?: RequestOptions): Promise<SeriesResult> =>
		normalizeSeries(await getJson<unknown>(withQuery('/api/v1/series', { ...sel }), options), sel.groupBy),

	labels: async (range: { from: TimeParam; until: TimeParam; query?: string }, options?: RequestOptions): Promise<string[]> =>
		normalizeStrings(await getJson<unknown>(withQuery('/api/v1/labels', range), options)),

	labelValues: async (name: string, sel: Selection, options?: RequestOptions): Promise<string[]> =>
		normalizeStrings(await getJson<unknown>(withQuery(`/api/v1/labels/${encodeURIComponent(name)}/values`, { ...sel }), options)),

	profileTypes: async (range: { from: TimeParam; until: TimeParam }, options?: RequestOptions): Promise<string[]> =>
		normalizeStrings(await getJson<unknown>(withQuery('/api/v1/profile-types', range), options)),

	/** Link (not a fetch) to the gzip pprof of a selection. */
	pprofUrl: (sel: Selection) => withQuery('/api/v1/pprof', { ...sel })
};
