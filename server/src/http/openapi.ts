// The OpenAPI document of every route, at GET /api/openapi.json (from the route schemas).
import swagger from '@fastify/swagger';
import fp from 'fastify-plugin';
import { version } from '../version.js';

export const openApi = fp(
  async (app) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'Kiln',
          version,
          description:
            'Continuous profiling: Pyroscope-compatible ingest, flame graphs, diffs and pprof export. Errors are `{ "error": "message" }`.',
        },
        tags: [
          { name: 'ingest', description: 'profiles in' },
          { name: 'query', description: 'flame graphs, diffs, exports, series, labels' },
          { name: 'ops', description: 'health, readiness, metrics, status' },
        ],
      },
    });
    app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  },
  { name: 'openapi' },
);
