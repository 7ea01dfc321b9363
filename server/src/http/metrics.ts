import fp from 'fastify-plugin';
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { version } from '../version.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** This server's Prometheus registry; modules register their own metrics on it. */
    metrics: Registry;
  }
}

/** A registry per app (not prom-client's global one), so several apps in one process do not collide. */
export const metricsPlugin = fp(
  async (app) => {
    const registry = new Registry();
    // The event-loop lag monitor wakes the process every `precision` ms (default 10).
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });
    new Gauge({
      name: 'kiln_build_info',
      help: 'Always 1; the labels tell which Kiln server runs.',
      labelNames: ['version'],
      registers: [registry],
    }).set({ version }, 1);
    const duration = new Histogram({
      name: 'kiln_http_request_duration_seconds',
      help: 'HTTP requests by route pattern and status code.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    app.decorate('metrics', registry);
    app.addHook('onResponse', async (request, reply) => {
      // The route pattern, not the URL, keeps label cardinality bounded.
      const route = request.routeOptions.url ?? 'unmatched';
      duration.observe({ method: request.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
    });
  },
  { name: 'metrics' },
);
