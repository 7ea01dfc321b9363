// The schema DDL as `kiln server --print-schema` shows it. On one node every statement runs
// (twice: migrations must be idempotent) on real embedded ClickHouse. A ClickHouse cluster
// (Keeper, several servers) cannot run here, so the cluster DDL is checked by ClickHouse's own
// parser (EXPLAIN AST in chDB) and for its shape: every table ON CLUSTER with a Replicated engine
// behind a Distributed table of the same name, every ALTER on both.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createClient, type ClickHouseClient, type ClickHouseClientConfigOptions } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { runKiln, tempDir } from './lib/kiln.js';

const TABLES = [
  'kiln_functions',
  'kiln_stacks',
  'kiln_series',
  'kiln_samples',
  'kiln_profiles',
  'kiln_agents',
  'kiln_spans',
  'kiln_signals',
];

async function printSchema(args: string[]): Promise<string[]> {
  const kiln = runKiln(['server', '--print-schema', ...args]);
  const [code] = await Promise.all([kiln.exited, once(kiln.proc, 'close')]);
  assert.equal(code, 0, kiln.output());
  const statements = kiln
    .stdout()
    .split(/;\n/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  assert.ok(statements.length >= TABLES.length + 1, kiln.stdout());
  return statements;
}

describe('schema DDL', () => {
  const dir = tempDir('kiln-schema-');
  const client: ClickHouseClient = createClient({
    connection: createChdbConnection({ path: join(dir, 'db') }) as unknown as ClickHouseClientConfigOptions['connection'],
  });
  after(async () => {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('one node: every statement runs on embedded ClickHouse, twice', async () => {
    const statements = await printSchema(['--retention', '3d']);
    assert.ok(
      statements.every((s) => !/ON CLUSTER|Replicated|Distributed/.test(s)),
      'no cluster DDL without --clickhouse-cluster',
    );
    for (let round = 0; round < 2; round++) for (const query of statements) await client.command({ query });
    const rs = await client.query({
      query: `SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE 'kiln_%' ORDER BY name`,
      format: 'JSONEachRow',
    });
    const names = (await rs.json<{ name: string }>()).map((r) => r.name);
    assert.deepEqual(names, [...TABLES, 'kiln_schema_migrations'].sort());
    const cols = await client.query({ query: 'DESCRIBE TABLE kiln_functions', format: 'JSONEachRow' });
    assert.deepEqual(
      (await cols.json<{ name: string }>()).map((c) => c.name),
      ['function_id', 'name', 'system_name', 'filename', 'start_line', 'binary', 'seen_day'],
    );
    const ttl = await client.query({
      query: `SELECT create_table_query FROM system.tables WHERE name = 'kiln_samples' AND database = currentDatabase()`,
      format: 'JSONEachRow',
    });
    assert.match(
      (await ttl.json<{ create_table_query: string }>())[0]!.create_table_query,
      /TTL time \+ toIntervalSecond\(259200\)/,
      '--retention 3d is the TTL',
    );
  });

  test('cluster: ClickHouse parses every statement; Replicated tables ON CLUSTER behind Distributed ones', async () => {
    const statements = await printSchema(['--clickhouse-cluster', 'fleet-1']);
    for (const query of statements) {
      const rs = await client.query({ query: `EXPLAIN AST ${query}`, format: 'TabSeparatedRaw' });
      assert.match(await rs.text(), /^"?(CreateQuery|AlterQuery) /, query);
      assert.match(query, /ON CLUSTER `fleet-1`/, query);
    }
    const creates = statements.filter((s) => s.startsWith('CREATE TABLE'));
    for (const table of TABLES) {
      const local = creates.find((s) => s.startsWith(`CREATE TABLE IF NOT EXISTS ${table}_local `));
      assert.ok(local, `${table}_local is created`);
      assert.match(
        local,
        /ENGINE = Replicated(Replacing)?MergeTree\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/\{table\}', '\{replica\}'/,
        local,
      );
      const dist = creates.find((s) => s.startsWith(`CREATE TABLE IF NOT EXISTS ${table} `));
      assert.ok(dist, `${table} is created`);
      assert.match(
        dist,
        new RegExp(`AS ${table}_local\\s+ENGINE = Distributed\\('fleet-1', currentDatabase\\(\\), '${table}_local', `),
        dist,
      );
    }
    const alters = statements.filter((s) => s.startsWith('ALTER TABLE'));
    const altered = alters.map((s) => /^ALTER TABLE (\S+)/.exec(s)![1]!);
    assert.deepEqual([...new Set(altered)].sort(), ['kiln_functions', 'kiln_functions_local', 'kiln_profiles', 'kiln_profiles_local']);
    for (const s of alters.filter((a) => /^ALTER TABLE \S+_local /.test(a))) {
      assert.ok(
        alters.includes(s.replace(/^ALTER TABLE (\S+)_local /, 'ALTER TABLE $1 ')),
        `an ALTER changes the local table and the Distributed table over it: ${s}`,
      );
    }
  });
});
