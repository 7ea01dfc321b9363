// Runs the flame graph core's unit tests (web/test/*.test.ts) under node:test.
// The web package is TypeScript for a bundler (SvelteKit/Vite), outside this package's tsc
// build, so its tests are bundled here with esbuild (one ESM file each, @kiln/api's build included,
// into a temp directory) and imported: the node:test cases they declare join this file's run. They
// are type-checked with the UI by `npm run check -w @kiln/web`.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { repoRoot, tempDir } from './lib/kiln.js';

const webTests = join(repoRoot, 'web/test');
const outDir = tempDir('kiln-web-unit-');

const files = readdirSync(webTests)
  .filter((f) => f.endsWith('.test.ts'))
  .sort();
if (files.length === 0) throw new Error(`no *.test.ts in ${webTests}`);
try {
  // Bundle everything first, then import: node:test starts running the first file's cases as
  // soon as they are declared, so nothing may be awaited between the imports.
  const bundles: string[] = [];
  for (const file of files) {
    const outfile = join(outDir, file.replace(/\.ts$/, '.mjs'));
    await build({
      entryPoints: [join(webTests, file)],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'inline',
      logLevel: 'warning',
    });
    bundles.push(outfile);
  }
  await Promise.all(bundles.map((b) => import(pathToFileURL(b).href)));
} finally {
  // Loaded modules stay in memory (source maps inline): the files can go now.
  rmSync(outDir, { recursive: true, force: true });
}
