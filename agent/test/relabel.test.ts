import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readRelabelFile, relabelRules, type Labels } from '../src/relabel.js';

/** What the profiler labels a containerised process with. */
const process: Labels = [
  ['service', 'checkout'],
  ['version', 'build-0123456789ab'],
  ['node', 'node-1'],
  ['pid', '4242'],
  ['comm', 'checkout'],
  ['exe', '/usr/bin/checkout'],
  ['container_id', 'ab'.repeat(32)],
];

test('no rules: every label with a value, in order', () => {
  assert.deepEqual(relabelRules({})([...process, ['container', '']]), process);
});

test('rename, then drop and keep by the new names', () => {
  const relabel = relabelRules({
    rename: { container_id: 'container' },
    drop: ['exe'],
    keep: ['service', 'version', 'node', 'container', 'namespace'],
  });
  assert.deepEqual(relabel(process), [
    ['service', 'checkout'],
    ['version', 'build-0123456789ab'],
    ['node', 'node-1'],
    ['container', 'ab'.repeat(32)],
  ]);
});

test('drop alone removes only what it names', () => {
  assert.deepEqual(
    relabelRules({ drop: ['exe', 'pid', 'not_there'] })(process).map(([k]) => k),
    ['service', 'version', 'node', 'comm', 'container_id'],
  );
});

test('a renamed label takes the place of one bearing its new name; an empty one does not', () => {
  const relabel = relabelRules({ rename: { container_id: 'container' } });
  assert.deepEqual(
    relabel([...process, ['container', 'web']]).filter(([k]) => k.startsWith('container')),
    [['container', 'ab'.repeat(32)]],
  );
  const host: Labels = [
    ['service', 'sshd'],
    ['container_id', ''],
    ['container', 'web'],
  ];
  assert.deepEqual(relabel(host), [
    ['service', 'sshd'],
    ['container', 'web'],
  ]);
});

test('renames are simultaneous: a chain swaps names without losing a value', () => {
  const relabel = relabelRules({ rename: { comm: 'exe', exe: 'path' } });
  assert.deepEqual(
    relabel(process).filter(([k]) => k === 'exe' || k === 'path'),
    [
      ['exe', 'checkout'],
      ['path', '/usr/bin/checkout'],
    ],
  );
});

test('a label may be renamed to service, replacing the derived one', () => {
  assert.deepEqual(
    relabelRules({ rename: { comm: 'service' } })([
      ['service', 'unknown'],
      ['comm', 'nginx'],
    ]),
    [['service', 'nginx']],
  );
});

test('rules that would remove service are refused', () => {
  assert.throws(() => relabelRules({ drop: ['service'] }), /"service" cannot be dropped/);
  assert.throws(() => relabelRules({ keep: ['version', 'pod'] }), /keep must list "service"/);
  assert.throws(() => relabelRules({ keep: [] }), /keep must list "service"/);
  assert.throws(() => relabelRules({ rename: { service: 'app' } }), /"service" cannot be renamed/);
});

test('malformed rules are refused with what is wrong', () => {
  const refused: [unknown, RegExp][] = [
    [[], /must be a JSON object/],
    [null, /must be a JSON object/],
    ['keep', /must be a JSON object/],
    [{ keep: ['service'], labeldrop: ['exe'] }, /unknown relabel field "labeldrop" \(expected rename, drop, keep\)/],
    [{ drop: 'exe' }, /drop must be a list of label names/],
    [{ keep: ['service', 3] }, /keep: 3 is not a label name/],
    [{ drop: ['a-b'] }, /drop: "a-b" is not a label name/],
    [{ drop: ['1abc'] }, /drop: "1abc" is not a label name/],
    [{ rename: ['exe'] }, /rename must be an object/],
    [{ rename: { exe: 'bad name' } }, /rename exe: "bad name" is not a label name/],
    [{ rename: { exe: 7 } }, /rename exe: 7 is not a label name/],
    [{ rename: { comm: 'program', exe: 'program' } }, /two labels are renamed to "program"/],
    [{ drop: ['exe'], keep: ['service', 'exe'] }, /"exe" is both kept and dropped/],
    [{ drop: ['span_id'] }, /"span_id" ties CPU samples to their span/],
    [{ rename: { trace_id: 'trace' } }, /"trace_id" ties CPU samples to their span/],
  ];
  for (const [config, message] of refused) assert.throws(() => relabelRules(config), message, JSON.stringify(config));
});

test('a rules file: JSON, errors name the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-relabel-'));
  const good = join(dir, 'good.json');
  writeFileSync(good, JSON.stringify({ drop: ['exe', 'comm'] }));
  assert.deepEqual(
    readRelabelFile(good)(process).map(([k]) => k),
    ['service', 'version', 'node', 'pid', 'container_id'],
  );

  const yaml = join(dir, 'rules.yaml');
  writeFileSync(yaml, 'drop: [exe]\n');
  assert.throws(
    () => readRelabelFile(yaml),
    (err: Error) => err.message.startsWith(`${yaml}: `) && /JSON/.test(err.message),
  );
  const wrong = join(dir, 'wrong.json');
  writeFileSync(wrong, '{"drop": ["service"]}');
  assert.throws(() => readRelabelFile(wrong), new RegExp(`^RelabelError: ${wrong}: drop: "service" cannot be dropped`));
  assert.throws(() => readRelabelFile(join(dir, 'missing.json')), /cannot read relabel rules: ENOENT/);
});
