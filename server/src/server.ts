import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import type { IngestLimits } from './ingest/limits.js';
import { KilnUsageError, describeError } from './errors.js';
import { readTokenFile } from './http/auth.js';
import { RequestLog } from './http/request-log.js';
import { checkClusterName, parseClickHouseUrl, type StorageConfig } from './storage/config.js';

export interface ServerOptions {
  port: number;
  /** Default '0.0.0.0'. */
  host?: string;
  /** Directory of the embedded chDB store; ignored when clickhouseUrl is set. */
  data: string;
  clickhouseUrl?: string;
  clickhouseCluster?: string;
  retentionMs: number;
  authTokenFile?: string;
  logger: Logger;
  /** Folder with the built UI; default web/build of this repository. */
  webRoot?: string;
  /** Ingest limits (flags `--ingest-*`); unset fields take the defaults of `defaultIngestLimits`. */
  ingest?: Partial<IngestLimits>;
}

export interface RunningServer {
  /** Where to reach the server, e.g. http://localhost:4040. */
  url: string;
  /** Stops accepting connections, lets in-flight requests finish, closes storage. Safe to call twice. */
  close(): Promise<void>;
}

const defaultWebRoot = fileURLToPath(new URL('../../web/build', import.meta.url));

// Requests still running this long after close() are cut so shutdown always ends.
const CLOSE_GRACE_MS = 10_000;

/** Starts `kiln server`. Rejects with KilnUsageError for mistakes the user can fix. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '0.0.0.0';
  const storage = storageConfig(options);
  if (!Number.isFinite(options.retentionMs) || options.retentionMs <= 0) {
    throw new KilnUsageError(`retention must be a positive duration, got ${options.retentionMs} ms`);
  }
  const authTokens = options.authTokenFile === undefined ? [] : await readTokenFile(options.authTokenFile);

  // Typed as Fastify's logger interface so plugins written against the default FastifyInstance fit.
  const loggerInstance: FastifyBaseLogger = options.logger;
  // First start on a large existing chDB store, or DDL ON CLUSTER, can outlast Fastify's 10 s default.
  const app = Fastify({ loggerInstance, logController: new RequestLog(), pluginTimeout: 120_000 });
  const closeAfterFailedStart = () => app.close().catch((err: unknown) => options.logger.error({ err }, 'close after failed start'));
  try {
    await app.register(buildApp, {
      storage,
      schema: {
        retentionMs: options.retentionMs,
        ...(storage.mode === 'clickhouse' && storage.cluster !== undefined && { cluster: storage.cluster }),
      },
      webRoot: options.webRoot ?? defaultWebRoot,
      authTokens,
      ...(options.ingest !== undefined && { ingest: checkIngestLimits(options.ingest) }),
    });
  } catch (err) {
    await closeAfterFailedStart();
    throw err;
  }
  try {
    await app.listen({ port: options.port, host });
  } catch (err) {
    await closeAfterFailedStart();
    throw listenError(err, options.port, host);
  }

  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost(host)}:${port}`,
    close: () => (closing ??= closeGracefully(app)),
  };
}

function checkIngestLimits(limits: Partial<IngestLimits>): Partial<IngestLimits> {
  const out: Partial<IngestLimits> = {};
  for (const [key, value] of Object.entries(limits) as [keyof IngestLimits, number | undefined][]) {
    if (value === undefined) continue;
    const min = key === 'rateBytesPerSecond' || key === 'batchLingerMs' || key === 'uploadLingerMs' ? 0 : 1;
    if (!Number.isFinite(value) || value < min) throw new KilnUsageError(`ingest limit ${key} must be a number >= ${min}, got ${value}`);
    out[key] = value;
  }
  return out;
}

function storageConfig(options: ServerOptions): StorageConfig {
  if (options.clickhouseUrl === undefined || options.clickhouseUrl === '') {
    if (options.clickhouseCluster !== undefined && options.clickhouseCluster !== '') {
      throw new KilnUsageError('--clickhouse-cluster needs --clickhouse-url: the embedded store is a single node');
    }
    return { mode: 'embedded', path: resolve(options.data) };
  }
  const url = parseClickHouseUrl(options.clickhouseUrl);
  const cluster = options.clickhouseCluster;
  return cluster === undefined || cluster === ''
    ? { mode: 'clickhouse', url }
    : { mode: 'clickhouse', url, cluster: checkClusterName(cluster) };
}

function listenError(err: unknown, port: number, host: string): Error {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE':
      return new KilnUsageError(`port ${port} is already in use (EADDRINUSE); pick another with --port or KILN_PORT`);
    case 'EACCES':
      return new KilnUsageError(`port ${port} needs more privileges (EACCES); pick one above 1023 with --port or KILN_PORT`);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new KilnUsageError(`cannot listen on host ${host}: ${describeError(err)}`);
    default:
      return err instanceof Error ? err : new Error(String(err));
  }
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

async function closeGracefully(app: FastifyInstance): Promise<void> {
  const timer = setTimeout(() => app.server.closeAllConnections(), CLOSE_GRACE_MS);
  try {
    await app.close();
  } finally {
    clearTimeout(timer);
  }
}
