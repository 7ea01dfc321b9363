import type { FastifyError, FastifyInstance } from 'fastify';

/** Every error leaves as `{ "error": message }`: the caller's mistakes (4xx) say what is wrong, ours (5xx) are logged and hidden. */
export function installErrorHandler(app: FastifyInstance): void {
  // Schema validation failures name the parameter: "maxNodes must be <= 1000000".
  app.setSchemaErrorFormatter((errors, dataVar) => {
    const e = errors[0];
    const where = e?.instancePath ? e.instancePath.slice(1).replaceAll('/', '.') : dataVar;
    return new Error(`${where} ${e?.message ?? 'is not valid'}`);
  });
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
    if (status < 500) {
      return reply.code(status).send({ error: error.message });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(status).send({ error: 'internal server error' });
  });
}
