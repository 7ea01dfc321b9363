import { KilnUsageError } from '../errors.js';

/** Where the data lives: embedded chDB in a local directory, or a ClickHouse server (optionally a cluster). */
export type StorageConfig = { mode: 'embedded'; path: string } | { mode: 'clickhouse'; url: URL; cluster?: string };

/** What /api/v1/status shows about storage; never carries credentials. */
export interface StorageDescription {
  mode: 'embedded' | 'clickhouse';
  path?: string;
  url?: string;
  cluster?: string;
}

export function parseClickHouseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // The raw text may hold a password, so it is not echoed.
    throw new KilnUsageError('the ClickHouse URL (--clickhouse-url) is not a valid URL; expected e.g. http://user:password@host:8123');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new KilnUsageError(`the ClickHouse URL (--clickhouse-url) must start with http:// or https://, not ${url.protocol}//`);
  }
  return url;
}

export function checkClusterName(name: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)) {
    throw new KilnUsageError(
      `cluster name ${JSON.stringify(name)} (--clickhouse-cluster) may contain only letters, digits, '_', '.' and '-'`,
    );
  }
  return name;
}

/** The URL without user, password, query or fragment. */
export function redactUrl(url: URL): string {
  const path = url.pathname === '/' ? '' : url.pathname;
  return `${url.protocol}//${url.host}${path}`;
}

export function describeStorage(config: StorageConfig): StorageDescription {
  if (config.mode === 'embedded') return { mode: 'embedded', path: config.path };
  return {
    mode: 'clickhouse',
    url: redactUrl(config.url),
    ...(config.cluster === undefined ? {} : { cluster: config.cluster }),
  };
}
