import type { StorageStatus } from './api';

/** "embedded ClickHouse (chDB) at ./data", "ClickHouse at http://ch:8123". */
export function describeStorage(storage: StorageStatus): string {
  switch (storage.mode) {
    case 'embedded':
      return storage.path ? `embedded ClickHouse (chDB) at ${storage.path}` : 'embedded ClickHouse (chDB)';
    case 'clickhouse':
      return storage.url ? `ClickHouse at ${withoutCredentials(storage.url)}` : 'ClickHouse';
    default:
      // A server newer than this UI.
      return String((storage as { mode: unknown }).mode);
  }
}

/** Drops `user:password@` from a URL, in case the server ever reports one. */
export function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}
