import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { KilnUsageError, describeError } from '../errors.js';

/**
 * Route patterns open without a token: probes and scrapes come from the platform, which does not
 * hold it; the UI's files ('/*', '/') and unmatched paths carry no data. Matching the route
 * pattern, not the raw URL, means no spelling of a URL (`//api`, `%61pi`) slips past.
 */
const PUBLIC_ROUTES = new Set(['/healthz', '/readyz', '/metrics', '/*', '/']);

/** With tokens set, every other route needs `Authorization: Bearer <token>`. */
export function installTokenAuth(app: FastifyInstance, tokens: readonly string[]): void {
  const digests = tokens.map(digest);
  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    if (route === undefined || PUBLIC_ROUTES.has(route)) return;
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    if (presented !== undefined) {
      const d = digest(presented);
      if (digests.some((known) => timingSafeEqual(known, d))) return;
    }
    return reply
      .code(401)
      .header('www-authenticate', 'Bearer realm="kiln"')
      .send({ error: 'missing or wrong token: send Authorization: Bearer <token>' });
  });
}

/** One token per line; blank lines and `#` comments are skipped. */
export async function readTokenFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new KilnUsageError(`auth token file ${path} cannot be read: ${describeError(err)}`);
  }
  const tokens = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (tokens.length === 0) throw new KilnUsageError(`auth token file ${path} holds no token`);
  return tokens;
}

// Hashing first gives equal lengths, which timingSafeEqual needs.
function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
