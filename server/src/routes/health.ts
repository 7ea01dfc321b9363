import type { FastifyInstance } from 'fastify';
import { describeError } from '../errors.js';
import { latestSchemaVersion, readSchemaVersion } from '../storage/migrations.js';
import { withTimeout } from '../timeout.js';

const READY_TIMEOUT_MS = 2_000;

type Readiness = { ready: true } | { ready: false; reason: string };

export async function checkReadiness(app: FastifyInstance): Promise<Readiness> {
  let schemaVersion: number;
  try {
    schemaVersion = await withTimeout(READY_TIMEOUT_MS, 'storage', (signal) => readSchemaVersion(app.clickhouse, signal));
  } catch (err) {
    return { ready: false, reason: `storage did not answer: ${describeError(err)}` };
  }
  if (schemaVersion !== latestSchemaVersion) {
    return { ready: false, reason: `schema version is ${schemaVersion}, this server needs ${latestSchemaVersion}` };
  }
  return { ready: true };
}

export async function healthRoutes(app: FastifyInstance): Promise<void> {
  // Probes arrive every few seconds; logging each one would drown everything else.
  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));

  app.get('/readyz', { logLevel: 'warn' }, async (_request, reply) => {
    const readiness = await checkReadiness(app);
    if (readiness.ready) return { status: 'ready' };
    return reply.code(503).send({ status: 'unready', reason: readiness.reason });
  });
}
