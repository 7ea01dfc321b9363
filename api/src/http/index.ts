// Request and response schemas of the HTTP API (TypeBox), with their TypeScript types: the server
// validates and serializes with them, the UI reads the same types.
export * from './agents.js';
export * from './common.js';
export * from './ingest.js';
export * from './ops.js';
export * from './query.js';
export * from './traces.js';
export * from './spans.js';
export * from './signals.js';
