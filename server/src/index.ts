export { startServer, type RunningServer, type ServerOptions } from './server.js';
export { KilnUsageError } from './errors.js';
export { version } from './version.js';
export { buildApp, type AppOptions } from './app.js';
export { defaultIngestLimits, type IngestLimits } from './ingest/limits.js';
export { schemaStatements } from './storage/migrations.js';
