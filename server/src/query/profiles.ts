// Uploads as received (kiln_profiles): the list of a selection's uploads, and one upload's bytes.
import type { StoredProfile } from '@kiln/api/http';
import { T } from '../storage/tables.js';
import type { QueryEngine } from './engine.js';
import type { Selector } from './selector.js';
import { Params, seriesSubquery } from './sql.js';
import type { TimeRange } from './time.js';

/** Uploads holding samples of the selection, newest first. */
export async function listProfiles(engine: QueryEngine, sel: Selector, range: TimeRange, limit: number): Promise<StoredProfile[]> {
  const p = new Params();
  const conds = [
    `time >= fromUnixTimestamp64Milli(toInt64(${p.add('Int64', Math.floor(range.fromMs))}))`,
    `time < fromUnixTimestamp64Milli(toInt64(${p.add('Int64', Math.ceil(range.untilMs))}))`,
    `has(profile_types, ${p.add('String', sel.profileType)})`,
  ];
  if (sel.matchers.length > 0) {
    const sub = seriesSubquery(sel, range, p, { always: true });
    conds.push(`hasAny(series_fps, (SELECT groupUniqArray(series_fp) FROM (${sub})))`);
  }
  const rows = await engine.json<{
    id: string;
    from: string;
    until: string;
    service: string;
    labels: Record<string, string>;
    profile_types: string[];
    format: string;
    spy_name: string;
    sample_rate: number;
    samples: number;
    size: number;
  }>(
    `SELECT toString(id) AS id, toUnixTimestamp64Milli(time) AS from, toUnixTimestamp64Milli(until) AS until, service, labels, profile_types,
            format, spy_name, sample_rate, samples, size
     FROM ${T.profiles} WHERE ${conds.join(' AND ')} ORDER BY time DESC LIMIT ${p.add('UInt32', limit)}`,
    p,
  );
  return rows.map((r) => ({
    id: r.id,
    from: Number(r.from),
    until: Number(r.until),
    service: r.service,
    labels: r.labels,
    profileTypes: r.profile_types,
    format: r.format,
    spyName: r.spy_name,
    sampleRate: r.sample_rate,
    samples: r.samples,
    sizeBytes: r.size,
  }));
}

/** One upload as stored, with what turning folded text into pprof needs. */
export interface StoredUpload {
  format: string;
  payload: Buffer;
  labels: Record<string, string>;
  sampleRate: number;
  fromMs: number;
  untilMs: number;
}

export async function storedUpload(engine: QueryEngine, id: string): Promise<StoredUpload | undefined> {
  const p = new Params();
  const rows = await engine.json<{
    format: string;
    payload: string;
    labels: Record<string, string>;
    sample_rate: number;
    time: string;
    until: string;
  }>(
    `SELECT format, base64Encode(payload) AS payload, labels, sample_rate, toUnixTimestamp64Milli(time) AS time, toUnixTimestamp64Milli(until) AS until
     FROM ${T.profiles} WHERE id = ${p.add('UUID', id)} LIMIT 1`,
    p,
  );
  const row = rows[0];
  if (row === undefined) return undefined;
  return {
    format: row.format,
    payload: Buffer.from(row.payload, 'base64'),
    labels: row.labels,
    sampleRate: row.sample_rate,
    fromMs: Number(row.time),
    untilMs: Number(row.until),
  };
}
