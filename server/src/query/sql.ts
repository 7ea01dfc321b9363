// SQL for selections. Every value is a bound parameter ({name:Type}); only our own identifiers
// and fixed fragments are written into the text.
import { T } from '../storage/tables.js';
import type { Matcher, Selector } from './selector.js';
import type { TimeRange } from './time.js';

export class Params {
  readonly values: Record<string, unknown> = {};
  #n = 0;
  /** Binds `value` and returns its placeholder. */
  add(type: string, value: unknown): string {
    const name = `p${this.#n++}`;
    this.values[name] = value;
    return `{${name}:${type}}`;
  }
}

export interface SqlContext {
  /** 'GLOBAL IN' on a cluster (subqueries over Distributed tables), else 'IN'. */
  inOp: string;
}

export function seconds(range: TimeRange): { from: number; until: number } {
  return { from: Math.floor(range.fromMs / 1000), until: Math.ceil(range.untilMs / 1000) };
}

/** One matcher as a condition on `column`. */
export function labelCondition(column: string, m: Matcher, p: Params): string {
  switch (m.op) {
    case '=':
      return `${column} = ${p.add('String', m.value)}`;
    case '!=':
      return `${column} != ${p.add('String', m.value)}`;
    case '=~':
      return `match(${column}, ${p.add('String', `^(?:${m.value})$`)})`;
    case '!~':
      return `NOT match(${column}, ${p.add('String', `^(?:${m.value})$`)})`;
  }
}

/** Conditions on kiln_series (labels) for the selector's matchers. */
export function seriesLabelConditions(sel: Selector, p: Params): string[] {
  return sel.matchers.map((m) => labelCondition(m.name === 'service' ? 'service' : `labels[${p.add('String', m.name)}]`, m, p));
}

/** The series of the selection as a subquery, or undefined when only `service` is matched. */
export function seriesSubquery(
  sel: Selector,
  range: TimeRange,
  p: Params,
  opts: { withType?: boolean; always?: boolean } = {},
): string | undefined {
  if (opts.always !== true && !sel.matchers.some((m) => m.name !== 'service')) return undefined;
  const withType = opts.withType ?? true;
  const s = seconds(range);
  const conds = [
    ...(withType ? [`profile_type = ${p.add('String', sel.profileType)}`] : []),
    `hour >= toStartOfHour(toDateTime(${p.add('UInt32', s.from)}))`,
    `hour < toDateTime(${p.add('UInt32', s.until)})`,
    ...seriesLabelConditions(sel, p),
  ];
  return `SELECT series_fp FROM ${T.series} WHERE ${conds.join(' AND ')}`;
}

/** Samples stamped with some spans: their ids (decimal UInt64) and the services that ran them. */
export interface StampedBy {
  spanIds: string[];
  services: string[];
}

/** WHERE conditions on kiln_samples for a selection, optionally only the samples stamped with some spans. */
export function samplesWhere(sel: Selector, range: TimeRange, p: Params, ctx: SqlContext, stampedBy?: StampedBy): string {
  const s = seconds(range);
  const conds = [
    `profile_type = ${p.add('String', sel.profileType)}`,
    `time >= toDateTime(${p.add('UInt32', s.from)})`,
    `time < toDateTime(${p.add('UInt32', s.until)})`,
  ];
  for (const m of sel.matchers) if (m.name === 'service') conds.push(labelCondition('service', m, p));
  const sub = seriesSubquery(sel, range, p);
  if (sub !== undefined) conds.push(`series_fp ${ctx.inOp} (${sub})`);
  if (stampedBy !== undefined) {
    // The services first: they are the sort key's second column, the span ids are in no index.
    conds.push(`service IN ${p.add('Array(String)', stampedBy.services)}`);
    conds.push(`span_id IN ${p.add('Array(UInt64)', `[${stampedBy.spanIds.join(',')}]`)}`);
  }
  return conds.join(' AND ');
}
