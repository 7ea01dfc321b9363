// Files to download (pprof profiles): one schema and one reply for every such route.
import { BinaryBody, ErrorBody } from '@kiln/api/http';
import type { FastifyReply } from 'fastify';
import type { TSchema } from 'typebox';

/** The schema of a GET that answers one file for the resource named by `params`, or 404. */
export function downloadSchema<P extends TSchema>(summary: string, params: P) {
  return {
    summary,
    tags: ['query'],
    params,
    produces: ['application/octet-stream'],
    response: { 200: BinaryBody, 400: ErrorBody, 404: ErrorBody },
  };
}

/** Sends `bytes` as an attachment the browser saves as `filename`. */
export function sendDownload<R extends FastifyReply>(reply: R, filename: string, bytes: Uint8Array): R {
  return reply.type('application/octet-stream').header('content-disposition', `attachment; filename="${filename}"`).send(bytes) as R;
}
