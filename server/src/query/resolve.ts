// Stack hashes → frames, function ids → names: from the catalog, the misses from storage.
import type { ClickHouseClient } from '@clickhouse/client';
import type { Catalog, FunctionInfo } from '../catalog.js';
import { T } from '../storage/tables.js';

const CHUNK = 4000;

/** Frames (function ids, root first) of each hash; unknown hashes are left out. */
export async function resolveStacks(
  client: ClickHouseClient,
  catalog: Catalog,
  hashes: Iterable<string>,
): Promise<Map<string, readonly string[]>> {
  const out = new Map<string, readonly string[]>();
  const missing: string[] = [];
  for (const h of hashes) {
    const frames = catalog.stacks.get(h);
    if (frames === undefined) missing.push(h);
    else out.set(h, frames);
  }
  for (let i = 0; i < missing.length; i += CHUNK) {
    const chunk = missing.slice(i, i + CHUNK);
    const rs = await client.query({
      query: `SELECT stack_hash, frames FROM ${T.stacks} WHERE stack_hash IN {hashes:Array(UInt64)} LIMIT 1 BY stack_hash`,
      query_params: { hashes: `[${chunk.join(',')}]` },
      format: 'TabSeparated',
    });
    const text = await rs.text();
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const tab = line.indexOf('\t');
      const hash = line.slice(0, tab);
      const list = line.slice(tab + 2, -1);
      const frames = list === '' ? [] : list.split(',');
      catalog.stacks.set(hash, frames);
      out.set(hash, frames);
    }
  }
  return out;
}

/** Function info of each id; unknown ids get a placeholder name. */
export async function resolveFunctions(
  client: ClickHouseClient,
  catalog: Catalog,
  ids: Iterable<string>,
): Promise<Map<string, FunctionInfo>> {
  const out = new Map<string, FunctionInfo>();
  const missing: string[] = [];
  for (const id of ids) {
    if (out.has(id)) continue;
    const f = catalog.functions.get(id);
    if (f === undefined) missing.push(id);
    else out.set(id, f);
  }
  const unique = [...new Set(missing)];
  for (let i = 0; i < unique.length; i += CHUNK) {
    const chunk = unique.slice(i, i + CHUNK);
    const rs = await client.query({
      query: `SELECT toString(function_id) AS id, name, system_name, filename, start_line, binary FROM ${T.functions} WHERE function_id IN {ids:Array(UInt64)} LIMIT 1 BY function_id`,
      query_params: { ids: `[${chunk.join(',')}]` },
      format: 'JSONCompactEachRow',
    });
    for (const [id, name, systemName, filename, startLine, binary] of await rs.json<[string, string, string, string, number, string]>()) {
      const f: FunctionInfo = { name, systemName, filename, startLine, binary };
      catalog.functions.set(id, f);
      out.set(id, f);
    }
  }
  for (const id of unique)
    if (!out.has(id)) out.set(id, { name: `[function ${id}]`, systemName: '', filename: '', startLine: 0, binary: '' });
  return out;
}
