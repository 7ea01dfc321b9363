// One in-process Kiln app on its own embedded store (chDB holds one store per process, so one per
// test file: node --test runs each file in a process of its own). Requests go through app.inject.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';

const webRoot = fileURLToPath(new URL('../../web/build', import.meta.url));

/** Call at the top level of a test file: the app is closed and its store deleted after the file's tests. */
export async function testApp(): Promise<FastifyInstance> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-server-test-'));
  const app = Fastify({ logger: false });
  await app.register(buildApp, {
    storage: { mode: 'embedded', path: dir },
    schema: { retentionMs: 7 * 86_400_000 },
    webRoot,
    authTokens: [],
  });
  await app.ready();
  after(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return app;
}

/** POSTs folded text to /ingest; the answer's JSON. */
export async function ingestFolded(app: FastifyInstance, name: string, text: string, fromS: number, extra: Record<string, string> = {}) {
  const res = await app.inject({
    method: 'POST',
    url: '/ingest',
    query: { name, format: 'folded', from: String(fromS), until: String(fromS + 10), ...extra },
    headers: { 'content-type': 'text/plain' },
    payload: text,
  });
  return { status: res.statusCode, body: res.json<{ id?: string; samples?: number; error?: string }>() };
}

/** GETs a JSON API path. */
export async function getJson<T>(app: FastifyInstance, url: string, query: Record<string, string | number> = {}) {
  const res = await app.inject({ method: 'GET', url, query: Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)])) });
  return { status: res.statusCode, body: res.json<T & { error?: string }>() };
}
