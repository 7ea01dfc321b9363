// The ingest path's parts, for benchmarks that measure them in process (`@kiln/server/ingest-internals`).
export { Catalog } from './catalog.js';
export { gunzipLimited } from './ingest/body.js';
export { defaultIngestLimits } from './ingest/limits.js';
export { addPprof, decodePprof, sampleTypes } from './ingest/pprof.js';
export { UploadBuilder } from './ingest/rows.js';
export { TsvWriter } from './ingest/tsv.js';
