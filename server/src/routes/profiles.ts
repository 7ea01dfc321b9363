// Uploads as received: the list of a selection's uploads, and one upload as stored.
import { ProfileIdParams, ProfilesQuery, ProfilesResponse } from '@kiln/api/http';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { HttpError } from '../http/http-error.js';
import { isGzip } from '../ingest/body.js';
import { foldedAsPprof } from '../query/pprof-export.js';
import { listProfiles, storedUpload } from '../query/profiles.js';
import { parseSelector } from '../query/selector.js';
import { parseRange } from '../query/time.js';
import { downloadSchema, sendDownload } from './download.js';
import { querySchema, type QueryContext } from './query.js';

export const profileRoutes: FastifyPluginAsyncTypebox<QueryContext> = async (app, { engine, timed }) => {
  app.get(
    '/api/v1/profiles',
    { schema: querySchema('Uploaded profiles holding samples of the selection, newest first', ProfilesQuery, ProfilesResponse) },
    async (request) => {
      const q = request.query;
      const range = parseRange(q.from, q.until);
      const sel = parseSelector(q.query);
      return timed('profiles', async () => ({ profiles: await listProfiles(engine, sel, range, q.limit ?? 100) }));
    },
  );

  app.get(
    '/api/v1/profiles/:id/pprof',
    {
      schema: downloadSchema(
        'One uploaded profile as stored (pprof as uploaded; folded uploads converted to gzipped pprof)',
        ProfileIdParams,
      ),
    },
    async (request, reply) => {
      const { id } = request.params;
      const upload = await timed('profile', () => storedUpload(engine, id));
      if (upload === undefined) throw new HttpError(404, `no profile ${id}`);
      const bytes = upload.format === 'folded' ? await foldedAsPprof(upload) : upload.payload;
      return sendDownload(reply, `${id}.pb${isGzip(bytes) ? '.gz' : ''}`, bytes);
    },
  );
};
