// Fastify's request lines, at debug when a request went well: agents upload every interval and a
// UI page makes a dozen requests, which at info would bury every other line. A 4xx or 5xx answer
// stays at info and a failed request at error, as Fastify logs them.
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

export class RequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ method: request.method, url: request.url }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) return super.requestCompleted(error, request, reply);
    reply.log[reply.statusCode >= 400 ? 'info' : 'debug'](
      { method: request.method, url: request.url, statusCode: reply.statusCode, responseTime: Math.round(reply.elapsedTime) },
      'request completed',
    );
  }
}
