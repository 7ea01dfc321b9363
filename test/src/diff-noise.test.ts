// Two runs of the same program, as versions a and b, profiled by the real agent: their diff holds
// no significant change (sampling noise is not a regression). The checkout v1 → v2 shift is
// checked significant in ui.test.ts.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { DiffResponse } from '@kiln/api/http';
import { startServer } from './lib/kiln.js';
import { getJson } from './lib/server-api.js';
import { seedVersionRuns } from './lib/ui-data.js';

const server = await startServer();
after(() => server.stop());

test('the same checkout twice as versions a and b: no significant regression or improvement', { timeout: 300_000 }, async () => {
  await seedVersionRuns(server.url, [
    { workload: 'v1/checkout', version: 'a' },
    { workload: 'v1/checkout', version: 'b' },
  ]);
  const d = await getJson<DiffResponse>(server.url, '/api/v1/diff', {
    left: '{service="checkout",version="a"}',
    right: '{service="checkout",version="b"}',
    from: 'now-15m',
    until: 'now',
  });
  assert.equal(d.status, 200, JSON.stringify(d.body));
  assert.ok(d.body.leftTicks > 0 && d.body.rightTicks > 0, 'both runs were profiled');
  const changes = d.body.metadata.changes;
  assert.ok(
    changes.some((c) => c.name === 'compute_discounts'),
    'the workload functions are compared',
  );
  const significant = changes.filter((c) => c.significant);
  assert.deepEqual(significant, [], `noise reported as change: ${JSON.stringify(significant.slice(0, 5))}`);
});
