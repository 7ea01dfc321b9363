// View state kept in the URL, so a copied link reproduces the view. Defaults are left out of the
// URL to keep links short.
import { goto } from '$app/navigation';
import type { SortKey } from './flamegraph/analysis';
import type { DiffMode } from './flamegraph/palette';
import type { Orientation } from './flamegraph/render';
import { DEFAULT_RANGE, type TimeRange } from './time';

export type FlameViewMode = 'both' | 'graph' | 'table' | 'sandwich';

export interface FlameViewState {
  /** Focused frame as a path of names from the root's child. */
  focus: string[];
  search: string;
  orientation: Orientation;
  view: FlameViewMode;
  /** Function shown in the sandwich view. */
  fn: string;
  sort: SortKey;
}

export type DiffLayout = 'overlay' | 'split';

export interface DiffViewState {
  focus: string[];
  search: string;
  orientation: Orientation;
  layout: DiffLayout;
  mode: DiffMode;
  metric: 'self' | 'total';
}

const FOCUS_SEP = ';';

// Root at the top, as Grafana and Pyroscope draw it: the widest frames are the first rows under
// the page's controls, in view without scrolling, and a deep stack grows down into the graph's own
// scroll area.
const DEFAULT_ORIENTATION: Orientation = 'icicle';

function oneOf<T extends string>(v: string | null, allowed: readonly T[], fallback: T): T {
  return v !== null && (allowed as readonly string[]).includes(v) ? (v as T) : fallback;
}

export function readFlameState(p: URLSearchParams): FlameViewState {
  const focus = p.get('focus');
  return {
    focus: focus ? focus.split(FOCUS_SEP) : [],
    search: p.get('search') ?? '',
    orientation: oneOf(p.get('orientation'), ['flame', 'icicle'], DEFAULT_ORIENTATION),
    view: oneOf(p.get('view'), ['both', 'graph', 'table', 'sandwich'], 'both'),
    fn: p.get('fn') ?? '',
    sort: oneOf(p.get('sort'), ['self', 'total', 'name'], 'self'),
  };
}

export function flamePatch(patch: Partial<FlameViewState>): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  if (patch.focus !== undefined) out['focus'] = patch.focus.length > 0 ? patch.focus.join(FOCUS_SEP) : null;
  if (patch.search !== undefined) out['search'] = patch.search || null;
  if (patch.orientation !== undefined) out['orientation'] = patch.orientation === DEFAULT_ORIENTATION ? null : patch.orientation;
  if (patch.view !== undefined) out['view'] = patch.view === 'both' ? null : patch.view;
  if (patch.fn !== undefined) out['fn'] = patch.fn || null;
  if (patch.sort !== undefined) out['sort'] = patch.sort === 'self' ? null : patch.sort;
  return out;
}

export function readDiffState(p: URLSearchParams): DiffViewState {
  const focus = p.get('focus');
  return {
    focus: focus ? focus.split(FOCUS_SEP) : [],
    search: p.get('search') ?? '',
    orientation: oneOf(p.get('orientation'), ['flame', 'icicle'], DEFAULT_ORIENTATION),
    layout: oneOf(p.get('layout'), ['overlay', 'split'], 'overlay'),
    mode: oneOf(p.get('mode'), ['relative', 'absolute'], 'relative'),
    metric: oneOf(p.get('metric'), ['self', 'total'], 'self'),
  };
}

export function diffPatch(patch: Partial<DiffViewState>): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  if (patch.focus !== undefined) out['focus'] = patch.focus.length > 0 ? patch.focus.join(FOCUS_SEP) : null;
  if (patch.search !== undefined) out['search'] = patch.search || null;
  if (patch.orientation !== undefined) out['orientation'] = patch.orientation === DEFAULT_ORIENTATION ? null : patch.orientation;
  if (patch.layout !== undefined) out['layout'] = patch.layout === 'overlay' ? null : patch.layout;
  if (patch.mode !== undefined) out['mode'] = patch.mode === 'relative' ? null : patch.mode;
  if (patch.metric !== undefined) out['metric'] = patch.metric === 'self' ? null : patch.metric;
  return out;
}

/** The URL parameters of a time range; each is left out where it is the default's. */
export function rangePatch(r: TimeRange): Record<string, string | null> {
  return { from: r.from === DEFAULT_RANGE.from ? null : r.from, until: r.until === DEFAULT_RANGE.until ? null : r.until };
}

/** `url` with `patch` applied (null removes a parameter). */
export function patchedUrl(url: URL, patch: Record<string, string | null | undefined>): URL {
  const next = new URL(url);
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    if (v === null || v === '') next.searchParams.delete(k);
    else next.searchParams.set(k, v);
  }
  return next;
}

/** Replaces the current history entry's URL (no new entry, no scroll, focus kept). */
export function replaceUrl(url: URL, patch: Record<string, string | null | undefined>): Promise<void> {
  const next = patchedUrl(url, patch);
  if (next.href === url.href) return Promise.resolve();
  return goto(next, { replaceState: true, keepFocus: true, noScroll: true });
}

/** Pushes a new history entry (a new selection the back button should return from). */
export function pushUrl(url: URL, patch: Record<string, string | null | undefined>): Promise<void> {
  return goto(patchedUrl(url, patch), { keepFocus: true, noScroll: true });
}
