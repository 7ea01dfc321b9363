import { startServer } from '@kiln/server';
import type { Command } from '../command.js';
import { logLevelFlag } from '../command.js';
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
  };
}

export const serverCommand: Command = {
  name: 'server',
  summary: 'Run the Kiln server: ingest, storage (embedded ClickHouse or a cluster), query API and UI.',
  flags: { ...serverFlags, ...logLevelFlag },
  async run(values, log) {
    const server = await startServer({ ...serverOptions(values), logger: log });
    log.info({ url: server.url }, 'kiln server ready');
    return untilSignal(log, () => server.close());
  },
};
