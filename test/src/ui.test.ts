// The UI served by `kiln server` at `/`: the home page shows what the server says about itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startServer } from './lib/kiln.js';
import { artifactPath, launchBrowser, watchPage } from './lib/browser.js';

interface ServerStatus {
  version: string;
  storage: { mode: 'embedded' | 'clickhouse'; path?: string; url?: string; schemaVersion: number };
}

test('home page shows the server version and embedded storage', async (t) => {
  const browser = await launchBrowser();
  t.after(() => browser.close());

  const server = await startServer();
  t.after(async () => {
    await server.stop();
    rmSync(server.dataDir, { recursive: true, force: true });
  });

  const res = await fetch(`${server.url}/api/v1/status`);
  if (!res.ok) assert.fail(`GET /api/v1/status: ${res.status} ${await res.text()}`);
  const status = (await res.json()) as ServerStatus;
  assert.equal(typeof status.version, 'string');
  assert.ok(status.version.length > 0, 'status.version is empty');
  assert.equal(status.storage.mode, 'embedded');

  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  const { problems } = watchPage(page);
  try {
    const nav = await page.goto(`${server.url}/`);
    assert.equal(nav?.status(), 200, 'GET / did not answer 200');

    const version = page.locator('[data-testid=server-version]');
    await version.filter({ hasText: status.version }).waitFor({ timeout: 15_000 });
    assert.equal((await version.textContent())?.trim(), status.version);

    const storage = (await page.locator('[data-testid=storage-mode]').textContent()) ?? '';
    assert.match(storage, /embedded/);

    await page.screenshot({ path: artifactPath('ui-home.png'), fullPage: true });
    assert.deepEqual(problems, [], 'the page reported errors');
  } catch (err) {
    await page.screenshot({ path: artifactPath('ui-home-failed.png'), fullPage: true }).catch(() => {});
    if (problems.length > 0) console.error(`page problems:\n${problems.join('\n')}`);
    console.error(`server output:\n${server.output()}`);
    throw err;
  }
});
