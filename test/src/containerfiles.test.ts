// The images cannot be built here (no registry access) and no registry package has hadolint: this
// checks the rules containers/README.md lists for the two Containerfiles, on their text.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from './lib/kiln.js';

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions with their continuation lines joined; comments dropped. */
function instructions(file: string): Instruction[] {
  const text = readFileSync(join(repoRoot, 'containers', file), 'utf8');
  const logical = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return logical
    .split('\n')
    .map((l) => /^\s*([A-Z]+)\s+(.*)$/.exec(l))
    .filter((m) => m !== null)
    .map((m) => ({ keyword: m[1]!, args: m[2]!.trim() }));
}

for (const file of ['Containerfile.agent', 'Containerfile.server']) {
  test(`${file}: pinned multi-stage bases, lean apt layers, kiln entrypoint, sources present`, () => {
    const all = instructions(file);
    const froms = all.filter((i) => i.keyword === 'FROM').map((i) => i.args.split(/\s+/)[0]!);
    assert.ok(froms.length >= 2, `multi-stage: ${froms.join(', ')}`);
    for (const image of froms) {
      assert.match(image, /(@sha256:[0-9a-f]{64}|:\d+\.\d+(\.\d+)?[-\w.]*)$/, `${image} is pinned to an exact version or a digest`);
      assert.doesNotMatch(image, /:latest\b/, `${image} is not latest`);
    }
    for (const run of all.filter((i) => i.keyword === 'RUN' && i.args.includes('apt-get install'))) {
      assert.match(run.args, /--no-install-recommends/, `apt-get install without recommends: ${run.args}`);
      assert.match(run.args, /rm -rf \/var\/lib\/apt\/lists/, `the apt lists removed in the same layer: ${run.args}`);
    }
    const entrypoint = all.filter((i) => i.keyword === 'ENTRYPOINT').at(-1);
    assert.equal(entrypoint?.args, '["kiln"]');
    for (const copy of all.filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from='))) {
      const sources = copy.args.split(/\s+/).slice(0, -1);
      for (const src of sources) assert.ok(existsSync(join(repoRoot, src)), `COPY source ${src} exists in the repository`);
    }
  });
}

test('Containerfile.server runs as uid 10001; Containerfile.agent runs `kiln doctor` by default', () => {
  const server = instructions('Containerfile.server');
  assert.equal(server.filter((i) => i.keyword === 'USER').at(-1)?.args, '10001:10001');
  const agent = instructions('Containerfile.agent');
  assert.equal(agent.filter((i) => i.keyword === 'CMD').at(-1)?.args, '["doctor"]');
});
