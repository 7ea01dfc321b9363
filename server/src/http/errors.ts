import type { FastifyError, FastifyInstance } from 'fastify';

/** Every error leaves as `{ "error": message }`: the caller's mistakes (4xx) say what is wrong, ours (5xx) are logged and hidden. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
    if (status < 500) {
      return reply.code(status).send({ error: error.message });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(status).send({ error: 'internal server error' });
  });
}
