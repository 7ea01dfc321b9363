import { Readable } from 'node:stream';
import { createClient, type ClickHouseClient, type ClickHouseClientConfigOptions } from '@clickhouse/client';
import { createChdbConnection, type ChdbConnection } from 'chdb/connection';
import type { FastifyBaseLogger } from 'fastify';
import fp from 'fastify-plugin';
import { KilnUsageError, describeError } from '../errors.js';
import { withTimeout } from '../timeout.js';
import { describeStorage, redactUrl, type StorageConfig, type StorageDescription } from './config.js';
import { clickhouseLogOptions } from './client-log.js';
import { ensureWritableDataDir } from './data-dir.js';

declare module 'fastify' {
  interface FastifyInstance {
    clickhouse: ClickHouseClient;
    /** Inserts TabSeparated rows as bytes (see `InsertTsv`). */
    insertTsv: InsertTsv;
    storage: StorageDescription;
  }
}

/**
 * An insert of TabSeparated rows given as bytes. Embedded storage hands the Buffer to chDB as it
 * is (the client's own insert turns the body into a UTF-8 string first, which costs a copy and
 * would corrupt binary data); a ClickHouse server gets it as the HTTP body.
 */
export type InsertTsv = (table: string, columns: readonly string[], body: Buffer) => Promise<void>;

export interface Storage {
  client: ClickHouseClient;
  insertTsv: InsertTsv;
}

export interface ClickHouseOptions {
  storage: StorageConfig;
}

type ClientLogOptions = ClickHouseClientConfigOptions['log'];

const STARTUP_PING_MS = 15_000;

/** Decorates `app.clickhouse` (one client for the whole server) and `app.storage`; closes the client on close. */
export const clickhousePlugin = fp<ClickHouseOptions>(
  async (app, opts) => {
    const { client, insertTsv } = await openClickHouse(opts.storage, app.log);
    app.decorate('clickhouse', client);
    app.decorate('insertTsv', insertTsv);
    app.decorate('storage', describeStorage(opts.storage));
    app.addHook('onClose', async () => {
      await client.close();
      if (opts.storage.mode === 'embedded') embeddedPath = undefined;
    });
  },
  { name: 'clickhouse' },
);

// chDB binds one data directory per process.
let embeddedPath: string | undefined;

/** Opens the client and checks that storage answers a query; user-fixable failures are KilnUsageErrors. */
export async function openClickHouse(config: StorageConfig, log: FastifyBaseLogger): Promise<Storage> {
  const logOptions = clickhouseLogOptions(log);
  const storage = config.mode === 'embedded' ? await openEmbedded(config.path, logOptions) : openRemote(config.url, logOptions);
  const client = storage.client;
  const where = config.mode === 'embedded' ? `embedded storage at ${config.path}` : `ClickHouse at ${redactUrl(config.url)}`;
  try {
    const ping = await withTimeout(STARTUP_PING_MS, where, (signal) => client.ping({ select: true, abort_signal: signal }));
    if (!ping.success) throw ping.error;
  } catch (err) {
    await client.close().catch(() => undefined);
    if (config.mode === 'embedded') embeddedPath = undefined;
    throw new KilnUsageError(`${where} does not answer: ${describeError(err)}`);
  }
  return storage;
}

async function openEmbedded(path: string, log: ClientLogOptions): Promise<Storage> {
  if (embeddedPath !== undefined) {
    throw new KilnUsageError(
      `embedded storage is already open at ${embeddedPath} in this process; chDB serves one data directory per process`,
    );
  }
  await ensureWritableDataDir(path);
  let connection: ChdbConnection;
  try {
    connection = createChdbConnection({ path });
  } catch (err) {
    throw new KilnUsageError(`embedded storage cannot open ${path}: ${describeError(err)}`);
  }
  embeddedPath = path;
  // chdb 3.4.0 types its connection against @clickhouse/client-common 1.23.0 while client 1.23.1 bundles
  // its own copy of those types; the shapes match at runtime (checked), the declarations differ by a setting.
  const client = createClient({ connection: connection as unknown as ClickHouseClientConfigOptions['connection'], log });
  const insertTsv: InsertTsv = async (table, columns, body) => {
    await connection.chdb.rawInsert({ table, columns, format: 'TabSeparated', values: body });
  };
  return { client, insertTsv };
}

function openRemote(url: URL, log: ClientLogOptions): Storage {
  try {
    const client = createClient({ url: url.toString(), log });
    const insertTsv: InsertTsv = async (table, columns, body) => {
      await client.insert({
        table,
        columns: columns as [string, ...string[]],
        format: 'TabSeparated',
        values: Readable.from([body], { objectMode: false }),
      });
    };
    return { client, insertTsv };
  } catch (err) {
    throw new KilnUsageError(`ClickHouse URL ${redactUrl(url)} is not usable: ${describeError(err)}`);
  }
}
