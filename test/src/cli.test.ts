import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runKiln } from './lib/kiln.js';

for (const command of ['up', 'server', 'doctor']) {
  test(`kiln ${command} --help lists its options with their environment variables`, async () => {
    const kiln = runKiln([command, '--help']);
    assert.equal(await kiln.exited, 0);
    assert.match(kiln.output(), new RegExp(`Usage: kiln ${command}`));
    for (const m of kiln.output().matchAll(/^ {2}--([a-z-]+)/gm)) {
      if (m[1] !== 'help') assert.match(kiln.output(), new RegExp(`KILN_${m[1]!.replace(/-/g, '_').toUpperCase()}`));
    }
  });
}

test('kiln --help lists the commands', async () => {
  const kiln = runKiln(['--help']);
  assert.equal(await kiln.exited, 0);
  for (const c of ['up', 'server', 'doctor']) assert.match(kiln.output(), new RegExp(`^  ${c} `, 'm'));
});

test('unknown commands and bad flags exit 2 with a clear message', async () => {
  const unknown = runKiln(['frobnicate']);
  assert.equal(await unknown.exited, 2);
  assert.match(unknown.output(), /unknown command "frobnicate"/);

  const badFlag = runKiln(['server', '--no-such-flag']);
  assert.equal(await badFlag.exited, 2);
  assert.match(badFlag.output(), /no-such-flag/);

  const badPort = runKiln(['server', '--port', 'eighty']);
  assert.equal(await badPort.exited, 2);
  assert.match(badPort.output(), /--port must be an integer/);

  const badServer = runKiln(['agent', '--server', 'localhost:4040', '--duration', '1s']);
  assert.notEqual(await badServer.exited, 0);
  assert.match(badServer.output(), /--server must be an http:\/\/ or https:\/\/ URL, got "localhost:4040"/);

  const badEnv = runKiln(['server'], { KILN_RETENTION: 'forever' });
  assert.equal(await badEnv.exited, 2);
  assert.match(badEnv.output(), /--retention: invalid duration "forever"/);
});
