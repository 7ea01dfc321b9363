// Statements group by shape: literals become `?`, IN lists one `?`, whitespace collapsed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_STATEMENT_NAME, normaliseSql, operationName, sqlRequest } from '../src/spans/sql.js';

test('normaliseSql: strings, numbers, hex and IN lists become ?', () => {
  assert.equal(normaliseSql("SELECT * FROM users WHERE id = 42 AND name = 'O''Brien'"), 'SELECT * FROM users WHERE id = ? AND name = ?');
  assert.equal(
    normaliseSql('select  a1,\n\tb_2 from t2 where x in (1, 2,3) and y > -1.5e3'),
    'select a1, b_2 from t2 where x IN (?) and y > ?',
  );
  assert.equal(normaliseSql("SELECT x'ff', 0xFF, E'a\\n', $$body$$, $f$x$f$"), 'SELECT ?, ?, ?, ?, ?');
  // Placeholders and identifiers with digits stay.
  assert.equal(normaliseSql('SELECT c3 FROM t WHERE a = $1 /* hint 7 */ -- note 8\n LIMIT 10'), 'SELECT c3 FROM t WHERE a = $1 LIMIT ?');
  // MySQL double quotes are strings; PostgreSQL's are identifiers.
  assert.equal(normaliseSql('SELECT "v" FROM t', 'mysql'), 'SELECT ? FROM t');
  assert.equal(normaliseSql('SELECT "v" FROM t'), 'SELECT "v" FROM t');
});

test('normaliseSql: a statement cut by the capture mid-literal still groups', () => {
  assert.equal(normaliseSql("INSERT INTO logs VALUES ('long text cut by the cap"), 'INSERT INTO logs VALUES (?');
});

test('sqlRequest: name cut at MAX_STATEMENT_NAME, operation the first keyword', () => {
  const long = `SELECT ${Array.from({ length: 100 }, (_, i) => `col${i}`).join(', ')} FROM t`;
  const { name, attributes } = sqlRequest(long, 'postgresql');
  assert.equal(name.length, MAX_STATEMENT_NAME);
  assert.equal(attributes['db.query.text']?.length, long.length);
  assert.equal(attributes['db.operation.name'], 'SELECT');
  assert.equal(attributes['db.system.name'], 'postgresql');
  assert.equal(operationName('with x as (select 1) select * from x'), 'WITH');
  assert.equal(operationName('?'), '');
});
