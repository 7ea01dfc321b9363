// Links between the Traces pages: a trace (with one span selected) and "compare slow with typical"
// of a route or statement, carrying the selection they came from.
import { resolve } from '$app/paths';
import type { TimeRange } from './time';

export interface SpanSelection extends TimeRange {
  query: string;
}

export function traceHref(traceId: string, spanId: string): string {
  return `${resolve('/traces/trace')}?${new URLSearchParams({ id: traceId, span: spanId }).toString()}`;
}

/** Compare the slow spans of `name` with its typical ones, within a selection (service, time range). */
export function compareSlowHref(name: string, sel: SpanSelection): string {
  const p = new URLSearchParams({ name });
  if (sel.query !== '{}') p.set('query', sel.query);
  p.set('from', sel.from);
  p.set('until', sel.until);
  return `${resolve('/traces/compare')}?${p.toString()}`;
}
