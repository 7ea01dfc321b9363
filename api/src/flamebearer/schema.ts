// The flamebearer as /api/v1/flamegraph and /api/v1/diff send it (Pyroscope's layout):
// one TypeBox schema per body, and the TypeScript types derived from them.
import { Type, type Static } from 'typebox';

export { OTHER_NAME, ROOT_NAME } from './names.js';

export const FrameSources = Type.Object(
  {
    files: Type.Array(Type.String(), { description: "source file, '' when unknown or not the same for every function of that name" }),
    lines: Type.Array(Type.Integer(), { description: 'line the function starts at, 0 when unknown' }),
    binaries: Type.Array(Type.String(), { description: "base name of the binary (pprof mapping), '' when unknown" }),
  },
  { description: 'where each frame comes from, parallel to flamebearer.names' },
);
export type FrameSources = Static<typeof FrameSources>;

export const FlameFormat = Type.Union([Type.Literal('single'), Type.Literal('double')]);
export type FlameFormat = Static<typeof FlameFormat>;

export const FlamebearerMetadata = Type.Object({
  format: FlameFormat,
  name: Type.String({ description: 'profile type' }),
  units: Type.String({ description: 'nanoseconds, samples, bytes, objects, …' }),
  unit: Type.String({ description: 'the pprof unit of the profile type' }),
  truncated: Type.Boolean({ description: 'whether frames were folded into `other` nodes to stay under maxNodes' }),
  maxNodes: Type.Integer(),
  frames: FrameSources,
});
export type FlamebearerMetadata = Static<typeof FlamebearerMetadata>;

export const Flamebearer = Type.Object({
  names: Type.Array(Type.String(), { description: 'frame names; names[0] is the root, "total"' }),
  levels: Type.Array(Type.Array(Type.Number()), {
    description:
      'one flat list per depth: [xOffsetDelta, total, self, nameIndex] quadruples (diff: [lOffsetDelta, lTotal, lSelf, rOffsetDelta, rTotal, rSelf, nameIndex] septuples)',
  }),
  numTicks: Type.Number({ description: 'total of the root (diff: leftTicks + rightTicks)' }),
  maxSelf: Type.Number(),
});
export type Flamebearer = Static<typeof Flamebearer>;

export const FlamegraphResponse = Type.Object({ flamebearer: Flamebearer, metadata: FlamebearerMetadata });
export type FlamegraphResponse = Static<typeof FlamegraphResponse>;

export const FunctionChange = Type.Object({
  name: Type.String({ description: 'function (frame) name' }),
  leftSelf: Type.Number({ description: 'self value on the left, in the profile type unit' }),
  rightSelf: Type.Number(),
  leftTotal: Type.Number({ description: 'total value on the left (a recursive function counts once per stack)' }),
  rightTotal: Type.Number(),
  significant: Type.Boolean({
    description:
      "whether the change of the function's self share (self / the side's ticks) is beyond sampling noise: a two-proportion z-test on " +
      "sample counts (one sample: the value every stack's value of the side is a multiple of), Bonferroni-corrected over every " +
      'function of the diff at ' +
      'a family-wise 1%, and at least 0.2 percentage points. A function with 0 on one side is new or removed only when significant.',
  }),
});
export type FunctionChange = Static<typeof FunctionChange>;

export const DiffMetadata = Type.Object({
  ...FlamebearerMetadata.properties,
  changes: Type.Array(FunctionChange, {
    description:
      'per function name, sorted by the change of its self share (|rightSelf/rightTicks − leftSelf/leftTicks|), largest first; ' +
      'computed from every stack (before the maxNodes cut), at most maxNodes entries',
  }),
});
export type DiffMetadata = Static<typeof DiffMetadata>;

export const DiffResponse = Type.Object({
  flamebearer: Type.Object({ ...Flamebearer.properties, leftTicks: Type.Number(), rightTicks: Type.Number() }),
  metadata: DiffMetadata,
  leftTicks: Type.Number(),
  rightTicks: Type.Number(),
});
export type DiffResponse = Static<typeof DiffResponse>;
