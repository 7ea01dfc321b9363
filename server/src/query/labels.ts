// Label listings: profile types, label names and one label's values, all from the small kiln_series table.
import type { ProfileTypesResponse } from '@kiln/api/http';
import { T } from '../storage/tables.js';
import { unitsOf, type QueryEngine } from './engine.js';
import type { Selector } from './selector.js';
import { Params } from './sql.js';
import type { TimeRange } from './time.js';

export async function profileTypes(engine: QueryEngine, range: TimeRange): Promise<ProfileTypesResponse['profileTypes']> {
  const p = new Params();
  const rows = await engine.json<{ name: string; unit: string }>(
    `SELECT profile_type AS name, any(unit) AS unit FROM ${T.series} WHERE ${engine.seriesWhere(undefined, range, p)} GROUP BY profile_type ORDER BY profile_type`,
    p,
  );
  return rows.map((r) => ({ name: r.name, unit: r.unit, units: unitsOf(r.name, r.unit) }));
}

export async function labelNames(engine: QueryEngine, sel: Selector | undefined, range: TimeRange): Promise<string[]> {
  const p = new Params();
  const rows = await engine.json<{ name: string }>(
    `SELECT DISTINCT arrayJoin(mapKeys(labels)) AS name FROM ${T.series} WHERE ${engine.seriesWhere(sel, range, p)} ORDER BY name`,
    p,
  );
  return rows.map((r) => r.name);
}

export async function labelValues(engine: QueryEngine, name: string, sel: Selector | undefined, range: TimeRange): Promise<string[]> {
  const p = new Params();
  const key = p.add('String', name);
  const rows = await engine.json<{ value: string }>(
    `SELECT DISTINCT labels[${key}] AS value FROM ${T.series} WHERE ${engine.seriesWhere(sel, range, p)} AND mapContains(labels, ${key}) ORDER BY value`,
    p,
  );
  return rows.map((r) => r.value);
}
