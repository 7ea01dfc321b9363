// Unit tests of the UI's plain helpers: selectors, time parameters, query strings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withQuery } from '../src/lib/api';
import { SelectorSyntaxError, formatSelector, matcherValue, parseSelector, withMatcher } from '../src/lib/selector';
import { describeRange, parseDuration, resolveTime, stepFor } from '../src/lib/time';

test('selectors parse, format and edit', () => {
  const s = parseSelector('cpu{service="checkout", version!="v1",pod=~"checkout-.*",namespace!~"kube-.*"}');
  assert.equal(s.type, 'cpu');
  assert.deepEqual(
    s.matchers.map((m) => `${m.name}${m.op}${m.value}`),
    ['service=checkout', 'version!=v1', 'pod=~checkout-.*', 'namespace!~kube-.*'],
  );
  assert.equal(formatSelector(parseSelector('{}')), '{}');
  assert.equal(formatSelector(parseSelector('{a="x\\"y"}')), '{a="x\\"y"}');
  assert.throws(() => parseSelector('{service="x"'), SelectorSyntaxError);
  assert.throws(() => parseSelector('{service=x}'), /quoted value/);
  assert.equal(withMatcher('{pod="a"}', 'service', 'api'), '{service="api",pod="a"}');
  assert.equal(withMatcher('{service="api",pod="a"}', 'service', ''), '{pod="a"}');
  assert.equal(matcherValue('wall{service="api",version="v2"}', 'version'), 'v2');
});

test('time parameters resolve against now', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);
  assert.equal(resolveTime('now', now), now);
  assert.equal(resolveTime('now-15m', now), now - 15 * 60_000);
  assert.equal(resolveTime('1767268800', now), 1767268800_000);
  assert.equal(resolveTime('1767268800123', now), 1767268800123);
  assert.equal(resolveTime('2026-01-01T12:00:00Z', now), now);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('7d'), 7 * 86_400_000);
  assert.equal(describeRange({ from: 'now-1h', until: 'now' }), 'last 1h');
  assert.equal(stepFor(0, 3_600_000, 120), '30s');
});

test('query strings leave undefined values out', () => {
  assert.equal(withQuery('/p', { a: 'x y', b: undefined, c: 1 }), '/p?a=x+y&c=1');
});
