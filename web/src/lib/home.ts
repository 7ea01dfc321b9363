// The home page's figures, computed from the answers of the series and flame graph APIs: what
// runs, on which nodes, where the CPU goes and what was deployed last; and the links from each row
// into explore and compare.
import type { AgentStatus, Series } from '@kiln/api/http';
import type { Version } from './deploys';
import { functionTable, sortRows, type FlameTree } from './flamegraph';
import { formatSelector } from './selector';
import { msParam, type TimeRange } from './time';

export interface ServiceRow {
  service: string;
  total: number;
  /** [unix ms, value] per step, for the sparkline. */
  points: readonly (readonly [number, number])[];
}

/** One row per service (the series grouped by `service`), busiest first. */
export function servicesByTotal(series: readonly Series[]): ServiceRow[] {
  const out: ServiceRow[] = [];
  for (const s of series) {
    const service = s.labels['service'];
    // Series without the label are grouped under '': not a service anyone named.
    if (service === undefined || service === '' || !(s.total > 0)) continue;
    out.push({ service, total: s.total, points: s.points });
  }
  return out.sort((a, b) => b.total - a.total || compare(a.service, b.service));
}

/** An agent's figures since it started, from its latest health report. */
export type AgentHealth = Pick<AgentStatus, 'version' | 'samplesLost' | 'processesTracked' | 'profilesDropped'>;

export interface NodeRow {
  node: string;
  /** unix ms of the node's last profile or health report in the range. */
  lastSeen: number;
  /** Samples of its profiles in the range (0: it reported health but sent no samples). */
  total: number;
  /** null when its agent sends no health reports (an older agent). */
  health: AgentHealth | null;
}

/**
 * One row per node, by name: the nodes of the series grouped by `node` (uploads without the
 * label come from SDKs, not agents, and are left out), with the health of each from `agents`
 * (GET /api/v1/agents), and the nodes that reported health without samples.
 */
export function nodesByName(series: readonly Series[], agents: readonly AgentStatus[]): NodeRow[] {
  const rows = new Map<string, NodeRow>();
  for (const s of series) {
    const node = s.labels['node'];
    if (node === undefined || node === '' || s.lastSeen === null || !(s.total > 0)) continue;
    rows.set(node, { node, lastSeen: s.lastSeen, total: s.total, health: null });
  }
  for (const a of agents) {
    const health = {
      version: a.version,
      samplesLost: a.samplesLost,
      processesTracked: a.processesTracked,
      profilesDropped: a.profilesDropped,
    };
    const row = rows.get(a.node);
    if (row === undefined) rows.set(a.node, { node: a.node, lastSeen: a.lastSeen, total: 0, health });
    else rows.set(a.node, { ...row, lastSeen: Math.max(row.lastSeen, a.lastSeen), health });
  }
  return [...rows.values()].sort((a, b) => compare(a.node, b.node));
}

export interface HotFunction {
  name: string;
  self: number;
  total: number;
}

/** The `limit` functions with the most self time in `tree`. */
export function hottestFunctions(tree: FlameTree, limit: number): HotFunction[] {
  const table = functionTable(tree);
  const rows = sortRows(tree, table, 'self');
  const out: HotFunction[] = [];
  for (const r of rows.subarray(0, limit)) {
    if (!(table.self[r]! > 0)) break;
    out.push({ name: tree.names[table.name[r]!]!, self: table.self[r]!, total: table.total[r]! });
  }
  return out;
}

export interface Deploy {
  service: string;
  newer: Version;
  /** The version that ran before `newer`. */
  older: Version;
}

/**
 * The newest version of each service that has one before it (versions as `summariseVersions`
 * gives them: newest deploy first), newest deploy first, at most `limit`.
 */
export function newestDeploys(versionsByService: ReadonlyMap<string, readonly Version[]>, limit: number): Deploy[] {
  const out: Deploy[] = [];
  for (const [service, versions] of versionsByService) {
    const [newer, older] = versions;
    if (newer !== undefined && older !== undefined) out.push({ service, newer, older });
  }
  return out.sort((a, b) => b.newer.first - a.newer.first || compare(a.service, b.service)).slice(0, limit);
}

/** The selector of the profiles whose label `name` is `value`. */
export function labelSelector(name: string, value: string): string {
  return formatSelector({ type: '', matchers: [{ name, op: '=', value }] });
}

/** Search parameters of the explore page showing `selector` over `range` (plus `extra`: view, fn…). */
export function exploreParams(selector: string, range: TimeRange, extra: Record<string, string> = {}): URLSearchParams {
  return new URLSearchParams({ query: selector, from: range.from, until: range.until, ...extra });
}

// A deploy's first and last profile bound the compare range; a minute either side keeps the
// profile that straddles each edge.
const COMPARE_PAD_MS = 60_000;

/**
 * Search parameters of the compare page: `older` on the left, `newer` on the right, both of
 * `service` (of profile type `type`, '' for the default), over a range covering both.
 */
export function compareParams(service: string, older: Version, newer: Version, type = ''): URLSearchParams {
  const side = (version: string): string =>
    formatSelector({
      type,
      matchers: [
        { name: 'service', op: '=', value: service },
        { name: 'version', op: '=', value: version },
      ],
    });
  return new URLSearchParams({
    left: side(older.version),
    right: side(newer.version),
    from: msParam(Math.min(older.first, newer.first) - COMPARE_PAD_MS),
    until: msParam(Math.max(older.last, newer.last) + COMPARE_PAD_MS),
  });
}

/**
 * SVG path (area under the line) of `points` in a `width`×`height` box spanning [fromMs, untilMs],
 * scaled to its own maximum: a sparkline shows a service's shape, not its size.
 */
export function sparklinePath(
  points: readonly (readonly [number, number])[],
  fromMs: number,
  untilMs: number,
  width: number,
  height: number,
): string {
  if (points.length === 0 || !(untilMs > fromMs)) return '';
  const max = Math.max(...points.map(([, v]) => v));
  if (!(max > 0)) return '';
  const x = (t: number): string => (((Math.min(untilMs, Math.max(fromMs, t)) - fromMs) / (untilMs - fromMs)) * width).toFixed(1);
  const y = (v: number): string => (height - (v / max) * height).toFixed(1);
  let d = `M${x(points[0]![0])},${height}`;
  for (const [t, v] of points) d += `L${x(t)},${y(v)}`;
  return `${d}L${x(points[points.length - 1]![0])},${height}Z`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** How long ago `ms` was, roughly: "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago". */
export function describeAge(ms: number, now: number): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 5) return 'just now';
  if (s < 120) return `${s} s ago`;
  if (s < 2 * 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 2 * 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}
