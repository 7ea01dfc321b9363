import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBody, StatusResponse } from '@kiln/api/http';
import { readSchemaVersion } from '../storage/migrations.js';
import { withTimeout } from '../timeout.js';
import { version } from '../version.js';

const STATUS_TIMEOUT_MS = 2_000;

export const statusRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const schema = { summary: 'Server version and storage', tags: ['ops'], response: { 200: StatusResponse, 503: ErrorBody } };
  app.get('/api/v1/status', { schema }, async (request, reply) => {
    let schemaVersion: number;
    try {
      schemaVersion = await withTimeout(STATUS_TIMEOUT_MS, 'storage', (signal) => readSchemaVersion(app.clickhouse, signal));
    } catch (err) {
      request.log.warn({ err }, 'status: storage did not answer');
      return reply.code(503).send({ error: 'storage is not answering; /readyz tells why' });
    }
    return { version, storage: { ...app.storage, schemaVersion } };
  });
};
