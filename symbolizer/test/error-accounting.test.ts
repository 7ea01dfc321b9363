// Failures are counted by kind; the first of a kind is a warning, repeats and process churn are debug.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';

import { pino } from 'pino';

import { ErrorAccounting, MAX_FAILURE_IDS } from '../src/error-accounting.js';

interface LogLine {
  level: number;
  msg: string;
  kind: string;
  path?: string;
}

/** A real pino logger at debug level whose lines are kept as parsed objects. */
function capturingLogger(): { logger: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l !== '') lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

const WARN = 40;
const DEBUG = 20;

test('count: totals and counts by kind; the first of each kind warns, later ones and process-gone are debug', () => {
  const { logger, lines } = capturingLogger();
  const errors = new ErrorAccounting(logger);
  errors.count('file-unreadable', new Error('EACCES'), { path: '/a' });
  errors.count('file-unreadable', undefined, { path: '/b' });
  errors.count('process-gone', undefined, { pid: 1 });
  errors.count('dwarf', undefined);
  assert.equal(errors.total, 4);
  assert.deepEqual(errors.byKind, { 'file-unreadable': 2, 'process-gone': 1, dwarf: 1 });
  assert.deepEqual(
    lines.map((l) => [l.level, l.msg, l.kind]),
    [
      [WARN, 'symbolizer: file-unreadable', 'file-unreadable'],
      [DEBUG, 'symbolizer: file-unreadable', 'file-unreadable'],
      [DEBUG, 'symbolizer: process-gone', 'process-gone'],
      [WARN, 'symbolizer: dwarf', 'dwarf'],
    ],
  );
  assert.deepEqual(
    lines.map((l) => l.path),
    ['/a', '/b', undefined, undefined],
    'the detail fields are logged',
  );
});

test('count without a logger only counts', () => {
  const errors = new ErrorAccounting(undefined);
  errors.count('internal', new Error('x'));
  assert.equal(errors.total, 1);
  assert.deepEqual(errors.byKind, { internal: 1 });
});

test('countOnce: one failure per id, remembered for hasCounted', () => {
  const errors = new ErrorAccounting(undefined);
  assert.equal(errors.hasCounted('1:2:3:4'), false);
  errors.countOnce('1:2:3:4', 'elf-invalid', undefined, { path: '/x' });
  errors.countOnce('1:2:3:4', 'elf-invalid', undefined, { path: '/y' });
  errors.countOnce('5:6:7:8', 'elf-invalid', undefined, { path: '/z' });
  assert.equal(errors.hasCounted('1:2:3:4'), true);
  assert.equal(errors.total, 2);
  assert.deepEqual(errors.byKind, { 'elf-invalid': 2 });
});

test('countOnce: the remembered ids are bounded; beyond the bound they are forgotten and count again', () => {
  const errors = new ErrorAccounting(undefined);
  for (let i = 0; i < MAX_FAILURE_IDS; i++) errors.countOnce(`id${i}`, 'file-unreadable', undefined, {});
  assert.equal(errors.hasCounted('id0'), true);
  errors.countOnce('one more', 'file-unreadable', undefined, {});
  assert.equal(errors.hasCounted('id0'), false);
  assert.equal(errors.hasCounted('one more'), true);
  errors.countOnce('id0', 'file-unreadable', undefined, {});
  assert.equal(errors.total, MAX_FAILURE_IDS + 2);
});
