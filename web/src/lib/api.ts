// Typed client for the Kiln JSON API (same origin: the server serves this UI and /api on one port).

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

export const api = {
	status: (options?: RequestOptions) => getJson<ServerStatus>('/api/v1/status', options)
};
