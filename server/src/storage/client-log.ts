import { ClickHouseLogLevel, type ClickHouseClientConfigOptions, type Logger as ClickHouseLogger } from '@clickhouse/client';
import type { FastifyBaseLogger } from 'fastify';

/** Sends @clickhouse/client's own log lines (by default printed to the console) to our logger. */
export function clickhouseLogOptions(log: FastifyBaseLogger): NonNullable<ClickHouseClientConfigOptions['log']> {
  const out = log.child({ component: 'clickhouse-client' });
  // The client instantiates this class itself, with no arguments; it reaches `out` through the closure.
  class ToPino implements ClickHouseLogger {
    trace({ message, args }: Parameters<ClickHouseLogger['trace']>[0]): void {
      out.trace({ ...args }, message);
    }
    debug({ message, args }: Parameters<ClickHouseLogger['debug']>[0]): void {
      out.debug({ ...args }, message);
    }
    info({ message, args }: Parameters<ClickHouseLogger['info']>[0]): void {
      out.info({ ...args }, message);
    }
    warn({ message, args, err }: Parameters<ClickHouseLogger['warn']>[0]): void {
      out.warn({ ...args, err }, message);
    }
    error({ message, args, err }: Parameters<ClickHouseLogger['error']>[0]): void {
      out.error({ ...args, err }, message);
    }
  }
  return { LoggerClass: ToPino, level: ClickHouseLogLevel.WARN };
}
