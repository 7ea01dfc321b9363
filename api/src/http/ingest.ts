// POST /ingest: Pyroscope's ingest API, which the agent uses too.
import { Type, type Static } from 'typebox';

export const IngestQuery = Type.Object({
  name: Type.Optional(Type.String({ description: 'APP or APP{k=v,...}: APP becomes the service label' })),
  format: Type.Optional(Type.String({ description: 'pprof or folded (default: pprof for gzip/multipart bodies, else folded)' })),
  from: Type.Optional(Type.String({ description: 'start of the profile: unix seconds (also ms, RFC 3339, now-…)' })),
  until: Type.Optional(Type.String({ description: 'end of the profile' })),
  sampleRate: Type.Optional(Type.String({ description: 'samples per second of folded input (default 100)' })),
  spyName: Type.Optional(Type.String()),
});
export type IngestQuery = Static<typeof IngestQuery>;

export const IngestResponse = Type.Object({
  id: Type.String({ description: 'id of the stored profile (GET /api/v1/profiles/ID/pprof)' }),
  samples: Type.Integer({ description: 'sample rows stored' }),
});
export type IngestResponse = Static<typeof IngestResponse>;
