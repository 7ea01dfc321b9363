// Health, readiness and status.
import { Type, type Static } from 'typebox';

export const HealthResponse = Type.Object({ status: Type.Literal('ok') });
export const ReadyResponse = Type.Object({ status: Type.Literal('ready') });
export const UnreadyResponse = Type.Object({ status: Type.Literal('unready'), reason: Type.String() });

export const StorageStatus = Type.Object({
  mode: Type.Union([Type.Literal('embedded'), Type.Literal('clickhouse')], {
    description: 'embedded: chDB inside the server process; clickhouse: a ClickHouse server over HTTP',
  }),
  path: Type.Optional(Type.String({ description: 'data directory of embedded storage' })),
  url: Type.Optional(Type.String({ description: 'ClickHouse URL, without credentials' })),
  cluster: Type.Optional(Type.String({ description: 'ClickHouse cluster the tables are created on' })),
  schemaVersion: Type.Integer(),
});
export type StorageStatus = Static<typeof StorageStatus>;

export const StatusResponse = Type.Object({ version: Type.String(), storage: StorageStatus });
export type StatusResponse = Static<typeof StatusResponse>;
