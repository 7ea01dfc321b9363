// The query API: flame graph, diff, pprof export, series, profile types, labels, profiles.
import { Type, type Static } from 'typebox';
import { Selector, Time } from './common.js';

export { DiffResponse, FlamegraphResponse } from '../flamebearer/schema.js';

export const DEFAULT_MAX_NODES = 8192;
export const MAX_MAX_NODES = 1_000_000;

export const MaxNodes = Type.Optional(
  Type.Integer({ minimum: 1, maximum: MAX_MAX_NODES, description: `node cap (default ${DEFAULT_MAX_NODES})` }),
);

export const FlamegraphQuery = Type.Object({ query: Selector(), from: Time(), until: Time(), maxNodes: MaxNodes });
export type FlamegraphQuery = Static<typeof FlamegraphQuery>;

export const DiffQuery = Type.Object({
  left: Selector('left selector'),
  right: Selector('right selector'),
  from: Time(),
  until: Time(),
  leftFrom: Time('left side start (default: from)'),
  leftUntil: Time('left side end (default: until)'),
  rightFrom: Time('right side start (default: from)'),
  rightUntil: Time('right side end (default: until)'),
  maxNodes: MaxNodes,
});
export type DiffQuery = Static<typeof DiffQuery>;

export const SelectionQuery = Type.Object({ query: Selector(), from: Time(), until: Time() });
export type SelectionQuery = Static<typeof SelectionQuery>;

export const SeriesQuery = Type.Object({
  query: Selector(),
  from: Time(),
  until: Time(),
  step: Type.Optional(Type.String({ description: 'seconds per point, e.g. 10s, 1m (default: range/300, at least 10s)' })),
  groupBy: Type.Optional(Type.String({ description: 'label name' })),
});
export type SeriesQuery = Static<typeof SeriesQuery>;

export const ProfileMetadata = Type.Object({ name: Type.String(), units: Type.String(), unit: Type.String() });
export type ProfileMetadata = Static<typeof ProfileMetadata>;

export const Series = Type.Object({
  labels: Type.Record(Type.String(), Type.String()),
  points: Type.Array(Type.Tuple([Type.Number(), Type.Number()]), { description: '[unix ms, value] per step' }),
  total: Type.Number(),
  firstSeen: Type.Union([Type.Number(), Type.Null()], {
    description: 'unix ms: start of the first profile with samples of this series in the range (null: none)',
  }),
  lastSeen: Type.Union([Type.Number(), Type.Null()], {
    description: 'unix ms: start of the last profile with samples of this series in the range',
  }),
});
export type Series = Static<typeof Series>;

export const SeriesResponse = Type.Object({
  series: Type.Array(Series),
  step: Type.Integer({ description: 'seconds per point' }),
  from: Type.Integer({ description: 'unix ms of the first point' }),
  until: Type.Integer(),
  metadata: ProfileMetadata,
});
export type SeriesResponse = Static<typeof SeriesResponse>;

export const ProfileTypesResponse = Type.Object({ profileTypes: Type.Array(ProfileMetadata) });
export type ProfileTypesResponse = Static<typeof ProfileTypesResponse>;

export const LabelsResponse = Type.Object({ names: Type.Array(Type.String()) });
export type LabelsResponse = Static<typeof LabelsResponse>;

export const LabelValuesParams = Type.Object({ name: Type.String() });
export const LabelValuesResponse = Type.Object({ name: Type.String(), values: Type.Array(Type.String()) });
export type LabelValuesResponse = Static<typeof LabelValuesResponse>;

export const ProfilesQuery = Type.Object({
  query: Selector(),
  from: Time(),
  until: Time(),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'at most this many (default 100, at most 10000)' })),
});
export type ProfilesQuery = Static<typeof ProfilesQuery>;

export const StoredProfile = Type.Object({
  id: Type.String(),
  from: Type.Number({ description: 'unix ms' }),
  until: Type.Number({ description: 'unix ms' }),
  service: Type.String({ description: 'the application name of the upload (name=APP)' }),
  labels: Type.Record(Type.String(), Type.String(), { description: 'labels of the upload from name=APP{…}' }),
  profileTypes: Type.Array(Type.String()),
  format: Type.String({ description: 'pprof or folded' }),
  spyName: Type.String(),
  sampleRate: Type.Number(),
  samples: Type.Integer({ description: 'samples (or folded lines) in the upload' }),
  sizeBytes: Type.Integer(),
});
export type StoredProfile = Static<typeof StoredProfile>;

export const ProfilesResponse = Type.Object({ profiles: Type.Array(StoredProfile) });
export type ProfilesResponse = Static<typeof ProfilesResponse>;

export const ProfileIdParams = Type.Object({
  id: Type.String({ format: 'uuid', description: 'profile id (UUID) from /api/v1/profiles or the ingest answer' }),
});
