import type { startServer } from '@kiln/server';
import type { Command } from '../command.js';
import { logFlags } from '../command.js';
import type { FlagSpecs, FlagValues } from '../flags.js';
import { untilSignal } from '../shutdown.js';

export const serverFlags: FlagSpecs = {
  port: { type: 'integer', value: 'PORT', default: 4040, min: 0, max: 65535, help: 'HTTP port for the API and the UI' },
  host: { type: 'string', value: 'ADDR', default: '0.0.0.0', help: 'address to listen on' },
  data: { type: 'string', value: 'DIR', default: './data', help: 'data directory of the embedded ClickHouse (chDB)' },
  'clickhouse-url': { type: 'string', value: 'URL', help: 'use this ClickHouse server over HTTP instead of embedded storage' },
  'clickhouse-cluster': { type: 'string', value: 'NAME', help: 'create Replicated/Distributed tables ON CLUSTER NAME' },
  retention: { type: 'duration', value: 'DURATION', default: '7d', help: 'how long data is kept (ClickHouse TTL)' },
  'auth-token-file': { type: 'string', value: 'FILE', help: 'require this bearer token on ingest and API requests' },
  'ingest-max-body': { type: 'size', value: 'SIZE', default: '16MiB', help: 'largest ingest request body (413 above)' },
  'ingest-max-profile': { type: 'size', value: 'SIZE', default: '64MiB', help: 'largest decompressed profile (413 above)' },
  'ingest-max-samples': { type: 'integer', value: 'N', default: 200_000, min: 1, help: 'most samples in one profile (400 above)' },
  'ingest-max-labels': { type: 'integer', value: 'N', default: 64, min: 1, help: 'most labels of one series (400 above)' },
  'ingest-max-stack-depth': { type: 'integer', value: 'N', default: 1024, min: 1, help: 'deeper stacks are cut under a [truncated] root' },
  'ingest-max-label-name-length': { type: 'integer', value: 'N', default: 1024, min: 1, help: 'longest label name' },
  'ingest-max-label-value-length': { type: 'integer', value: 'N', default: 4096, min: 1, help: 'longest label value' },
  'ingest-max-inflight': { type: 'size', value: 'SIZE', default: '256MiB', help: 'bytes being ingested at once before 429 + Retry-After' },
  'ingest-rate-limit': { type: 'size', value: 'SIZE', default: 0, help: 'ingest bytes per second before 429 + Retry-After (0: no limit)' },
  'print-schema': {
    type: 'boolean',
    help: 'print the schema DDL (with --clickhouse-cluster and --retention as given) and exit without connecting',
  },
  'ingest-batch-linger': {
    type: 'duration',
    value: 'DURATION',
    default: '5ms',
    help: 'how long concurrent uploads wait to share one insert',
  },
  'ingest-upload-linger': {
    type: 'duration',
    value: 'DURATION',
    default: '1s',
    help: 'how long uploads wait to be stored as received in one insert (fewer parts to write and merge)',
  },
};

export function serverOptions(values: FlagValues): Omit<Parameters<typeof startServer>[0], 'logger'> {
  return {
    port: values.port as number,
    host: values.host as string,
    data: values.data as string,
    clickhouseUrl: values['clickhouse-url'] as string | undefined,
    clickhouseCluster: values['clickhouse-cluster'] as string | undefined,
    retentionMs: values.retention as number,
    authTokenFile: values['auth-token-file'] as string | undefined,
    ingest: definedOnly({
      maxBodyBytes: values['ingest-max-body'] as number,
      maxProfileBytes: values['ingest-max-profile'] as number,
      maxSamplesPerProfile: values['ingest-max-samples'] as number,
      maxLabelsPerSeries: values['ingest-max-labels'] as number,
      maxStackDepth: values['ingest-max-stack-depth'] as number,
      maxLabelNameLength: values['ingest-max-label-name-length'] as number,
      maxLabelValueLength: values['ingest-max-label-value-length'] as number,
      maxInflightBytes: values['ingest-max-inflight'] as number,
      rateBytesPerSecond: values['ingest-rate-limit'] as number,
      batchLingerMs: values['ingest-batch-linger'] as number,
      uploadLingerMs: values['ingest-upload-linger'] as number,
    }),
  };
}

/** `kiln up` offers only some server flags: the others keep the server's defaults. */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export const serverCommand: Command = {
  name: 'server',
  summary: 'Run the Kiln server: ingest, storage (embedded ClickHouse or a cluster), query API and UI.',
  flags: { ...serverFlags, ...logFlags },
  async run(values, log) {
    // Loaded on use: the server pulls in embedded ClickHouse (~140 MB resident), which the agent must not carry.
    const { startServer, schemaStatements } = await import('@kiln/server');
    if (values['print-schema'] === true) {
      const ctx = { retentionMs: values.retention as number, cluster: values['clickhouse-cluster'] as string | undefined };
      process.stdout.write(
        schemaStatements(ctx)
          .map((q) => `${q};\n`)
          .join('\n'),
      );
      return 0;
    }
    const server = await startServer({ ...serverOptions(values), logger: log });
    log.info({ url: server.url }, 'kiln server ready');
    return untilSignal(log, () => server.close());
  },
};
