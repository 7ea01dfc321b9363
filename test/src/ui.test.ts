// The UI served by `kiln server` at `/`, driven in Chromium against a real server with known
// profiles ingested through `POST /ingest` (folded).
// Screenshots: test/artifacts/ui-*.png.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { artifactPath, launchBrowser, watchPage, withPage as withBrowserPage } from './lib/browser.js';
import { COMPARE, DEEP, EXPLORE, seedCompareData, seedDeepData, seedExploreData } from './lib/ui-data.js';
import {
  canvasStats,
  graphScrollArea,
  hoverFrame,
  locateFrame,
  pixelAt,
  scrollGraphToEnd,
  windowGeometry,
  type FrameBox,
} from './lib/ui-page.js';
import { startUiServer, type UiServer } from './lib/ui-server.js';
import { workloadsDir } from './lib/workloads.js';

interface ServerStatus {
  version: string;
  storage: { mode: 'embedded' | 'clickhouse'; path?: string; url?: string; schemaVersion: number };
}

const VIEWPORT = { width: 1400, height: 1000 };
/** The window the issue measured the flame graph in: what matters must fit without scrolling. */
const SMALL_VIEWPORT = { width: 1400, height: 900 };

describe('web UI', () => {
  let browser: Browser;
  let server: UiServer;

  before(async () => {
    browser = await launchBrowser();
    server = await startUiServer();
    await seedExploreData(server.url);
    await seedDeepData(server.url);
    await seedCompareData(server.url);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const withPage = (name: string, body: (page: Page) => Promise<void>, viewport = VIEWPORT): Promise<void> =>
    withBrowserPage({ browser, prefix: 'ui', server, viewport }, name, body);

  const explorePath = (extra = ''): string => `/explore?query=${encodeURIComponent(`{service="${EXPLORE.service}"}`)}${extra}`;

  /**
   * The boxes of the frames named `names` once all are drawn inside the window (the graph settles
   * as what is above it loads); after `timeoutMs`, the last boxes seen, for the assertions to show.
   */
  async function framesInWindow(page: Page, graph: Locator, names: readonly string[], timeoutMs = 15_000): Promise<(FrameBox | null)[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { innerHeight } = await windowGeometry(page);
      const boxes = await Promise.all(names.map((n) => locateFrame(graph, n)));
      if (boxes.every((b) => b !== null && b.y >= 0 && b.y + b.height <= innerHeight) || Date.now() > deadline) return boxes;
      await page.waitForTimeout(250);
    }
  }

  it('home page shows the server version and embedded storage', async () => {
    const res = await fetch(`${server.url}/api/v1/status`);
    if (!res.ok) assert.fail(`GET /api/v1/status: ${res.status} ${await res.text()}`);
    const status = (await res.json()) as ServerStatus;
    assert.ok(status.version.length > 0, 'status.version is empty');
    assert.equal(status.storage.mode, 'embedded');
    await withPage('home', async (page) => {
      const nav = await page.goto(`${server.url}/`);
      assert.equal(nav?.status(), 200, 'GET / did not answer 200');
      const version = page.locator('[data-testid=server-version]');
      await version.filter({ hasText: status.version }).waitFor({ timeout: 15_000 });
      assert.match((await page.locator('[data-testid=storage-mode]').textContent()) ?? '', /embedded/);
      await page.screenshot({ path: artifactPath('ui-home.png'), fullPage: true });
    });
  });

  it('home page lists the seeded services and nodes; its rows open explore and compare on what they show', async () => {
    const res = await fetch(`${server.url}/api/v1/labels/node/values?query=%7B%7D&from=now-1h&until=now`);
    const { values: nodes } = (await res.json()) as { values: string[] };
    assert.ok(nodes.includes(hostname()), `the agent's node ${hostname()} among ${JSON.stringify(nodes)}`);
    await withPage('home-fleet', async (page) => {
      await page.goto(`${server.url}/`);
      for (const service of [EXPLORE.service, COMPARE.service, DEEP.service]) {
        await page.locator(`[data-testid=service-row][data-service="${service}"]`).waitFor({ timeout: 20_000 });
      }
      for (const node of nodes) await page.locator(`[data-testid=node-row][data-node="${node}"]`).waitFor();
      // The agent's health (GET /api/v1/agents): it tracked the workloads' processes, at least.
      const processes = page.locator(`[data-testid=node-row][data-node="${hostname()}"] [data-testid=node-processes]`);
      await processes.waitFor({ timeout: 20_000 });
      assert.ok(Number(((await processes.textContent()) ?? '').replace(/\D/g, '')) > 0, 'processes tracked shown');
      await page
        .locator(`[data-testid=home-functions] [data-testid=function-row][data-name="${EXPLORE.hot}"]`)
        .waitFor({ timeout: 20_000 });
      const deploy = page.locator(`[data-testid=deploy-row][data-service="${COMPARE.service}"]`);
      await deploy.waitFor({ timeout: 30_000 });
      assert.equal(await deploy.getAttribute('data-version'), COMPARE.right);
      await page.screenshot({ path: artifactPath('ui-home-fleet.png'), fullPage: true });

      // A service: explore with its selector, over the home page's range.
      await page.locator(`[data-testid=service-row][data-service="${EXPLORE.service}"] [data-testid=service-link]`).click();
      await page.waitForURL(
        (u) =>
          u.pathname === '/explore' &&
          u.searchParams.get('query') === `{service="${EXPLORE.service}"}` &&
          u.searchParams.get('from') === 'now-1h' &&
          u.searchParams.get('until') === 'now',
      );
      await page.locator('[data-testid=flamegraph]').waitFor({ timeout: 20_000 });

      // A node: explore with its selector.
      await page.goBack();
      await page.locator(`[data-testid=node-row][data-node="${hostname()}"] [data-testid=node-link]`).click();
      await page.waitForURL((u) => u.pathname === '/explore' && u.searchParams.get('query') === `{node="${hostname()}"}`);
      await page.locator('[data-testid=flamegraph]').waitFor({ timeout: 20_000 });

      // A hot function: its callers and callees across everything.
      await page.goBack();
      await page.locator(`[data-testid=home-functions] [data-name="${EXPLORE.hot}"] [data-testid=function-link]`).click();
      await page.waitForURL(
        (u) =>
          u.pathname === '/explore' &&
          u.searchParams.get('query') === '{}' &&
          u.searchParams.get('view') === 'sandwich' &&
          u.searchParams.get('fn') === EXPLORE.hot,
      );
      await page.locator('[data-testid=sandwich-callers]').waitFor({ timeout: 20_000 });

      // The newest version: compare with the one before it, both sides selected.
      await page.goBack();
      await page.locator(`[data-testid=deploy-row][data-service="${COMPARE.service}"] [data-testid=deploy-compare]`).click();
      await page.waitForURL(/\/compare\?/);
      await page.locator('[data-testid=diff-flamegraph]').waitFor({ timeout: 20_000 });
      assert.equal(await page.locator('[data-testid=left-text]').inputValue(), `{service="${COMPARE.service}",version="${COMPARE.left}"}`);
      assert.equal(
        await page.locator('[data-testid=right-text]').inputValue(),
        `{service="${COMPARE.service}",version="${COMPARE.right}"}`,
      );
    });
  });

  it('explore at 1400×900: the root frame and the widest frames under it are in the window without scrolling, root at the top', async () => {
    await withPage(
      'explore-fit',
      async (page) => {
        await page.goto(`${server.url}${explorePath()}`);
        const graph = page.locator('[data-testid=flamegraph]').first();
        await graph.waitFor({ timeout: 20_000 });
        // The timeline above the graph arrives on its own: measure once it is in place.
        await page.locator('[data-testid=timeline] path').first().waitFor({ timeout: 20_000 });
        // The root (`total`), its only child and the widest frame under that.
        const names = ['total', 'main', 'http_serve'];
        const boxes = await framesInWindow(page, graph, names);
        const { innerHeight, scrollY } = await windowGeometry(page);
        assert.equal(scrollY, 0, 'the page was not scrolled');
        boxes.forEach((b, i) =>
          assert.ok(b && b.y >= 0 && b.y + b.height <= innerHeight, `${names[i]} at ${JSON.stringify(b)}, window ${innerHeight} px tall`),
        );
        const [root, main, serve] = boxes as [FrameBox, FrameBox, FrameBox];
        assert.ok(root.y < main.y && main.y < serve.y, 'top-down by default: the root above its callees');
        await page.screenshot({ path: artifactPath('ui-explore-fit.png') });

        // The URL's orientation parameter still turns it over.
        await page.locator('[data-testid=orientation-flame]').click();
        await page.waitForURL((u) => u.searchParams.get('orientation') === 'flame');
        const [flameRoot, flameMain] = await framesInWindow(page, graph, ['total', 'main']);
        assert.ok(flameRoot && flameMain && flameRoot.y > flameMain.y, 'orientation=flame: the root below its callees');
      },
      SMALL_VIEWPORT,
    );
  });

  it('explore at 1400×900: a deep stack scrolls inside the graph, which ends in the window', async () => {
    await withPage(
      'explore-deep',
      async (page) => {
        await page.goto(`${server.url}/explore?query=${encodeURIComponent(`{service="${DEEP.service}"}`)}`);
        const graph = page.locator('[data-testid=flamegraph]').first();
        await graph.waitFor({ timeout: 20_000 });
        await page.locator('[data-testid=timeline] path').first().waitFor({ timeout: 20_000 });
        const [root] = await framesInWindow(page, graph, ['total', 'walk_0']);
        assert.ok(root, 'the root is drawn in the window');
        const { innerHeight } = await windowGeometry(page);
        const area = await graphScrollArea(graph);
        assert.ok(area.scrollHeight > area.clientHeight, `the graph scrolls itself: ${JSON.stringify(area)}`);
        assert.ok(area.bottom <= innerHeight, `the graph ends in the window: ${JSON.stringify(area)}, window ${innerHeight} px tall`);
        await page.screenshot({ path: artifactPath('ui-explore-deep.png') });

        // Its deepest frame is reached by scrolling the graph; the page stays where it is.
        await scrollGraphToEnd(graph);
        const [deepest] = await framesInWindow(page, graph, ['walk_119']);
        assert.ok(deepest, 'the deepest frame is drawn once the graph is scrolled');
        assert.equal((await windowGeometry(page)).scrollY, 0, 'the page did not scroll');
      },
      SMALL_VIEWPORT,
    );
  });

  it('explore: the service picker autocompletes and builds the selector; label values stay usable by the thousand', async () => {
    await withPage('explore-picker', async (page) => {
      await page.goto(`${server.url}/explore`);
      const service = page.locator('[data-testid=explore-service]');
      await service.click();
      await service.fill(EXPLORE.service.slice(0, 3));
      await page.getByRole('option', { name: EXPLORE.service, exact: true }).click();
      await page.waitForURL((u) => u.searchParams.get('query') === `{service="${EXPLORE.service}"}`);
      await page.locator('[data-testid=flamegraph]').waitFor();

      // 3,000 pod values on another service: the list is capped and filtering finds any of them.
      await page.goto(`${server.url}/explore?query=${encodeURIComponent('{service="noise"}')}`);
      await page.locator('[data-testid=explore-label-name]').selectOption('pod');
      const value = page.locator('[data-testid=explore-label-value]');
      await value.click();
      await page.getByText(/more — type to filter/).waitFor();
      const listed = await page.getByRole('listbox').getByRole('option').count();
      assert.ok(listed > 0 && listed <= 100, `the value list is capped (${listed} shown)`);
      await value.fill('noise-2999');
      await page.getByRole('option', { name: 'noise-2999' }).click();
      await page.waitForURL((u) => (u.searchParams.get('query') ?? '').includes('pod="noise-2999"'));
    });
  });

  it('explore: flame graph renders, search filters the table, hover shows name and %, click focuses, reset restores, sandwich lists callers', async () => {
    await withPage('explore', async (page) => {
      await page.goto(`${server.url}${explorePath()}`);
      const graph = page.locator('[data-testid=flamegraph]').first();
      await graph.waitFor({ timeout: 20_000 });

      // Canvas pixels: the graph is drawn, in several colours, at device resolution.
      const stats = await canvasStats(graph);
      assert.ok(stats.drawn > 10_000, `only ${stats.drawn} pixels drawn`);
      assert.ok(stats.colours >= 4, `only ${stats.colours} colours`);
      await page.locator('[data-testid=timeline] path').first().waitFor();
      await page.screenshot({ path: artifactPath('ui-explore.png'), fullPage: true });

      // Search: the hot function is found, the table shows only it, the summary gives its share.
      await page.locator('[data-testid=flame-search]').fill(EXPLORE.hot);
      await page.waitForURL((u) => u.searchParams.get('search') === EXPLORE.hot);
      const rows = page.locator('[data-testid=function-row]');
      await rows.first().waitFor();
      assert.equal(await rows.count(), 1);
      assert.equal(await rows.first().getAttribute('data-name'), EXPLORE.hot);
      const summary = (await page.locator('[data-testid=search-summary]').textContent()) ?? '';
      assert.match(summary, new RegExp(`${(EXPLORE.hotShare * 100).toFixed(1)}%`), summary);

      // Hover: the tooltip names the frame and gives its share (the widest crc32_update is 30%).
      const hot = await locateFrame(graph, EXPLORE.hot);
      assert.ok(hot, 'the hot function is drawn');
      const tip = await hoverFrame(page, hot);
      assert.match(tip, new RegExp(EXPLORE.hot));
      assert.match(tip, /30\.0%/);
      // The graph with its tooltip (position: fixed, so below the graph's own box).
      const gb = (await graph.boundingBox())!;
      await page.screenshot({
        path: artifactPath('ui-flamegraph.png'),
        clip: { x: gb.x, y: gb.y, width: gb.width, height: Math.min(gb.height + 150, VIEWPORT.height - gb.y) },
      });

      // Click focuses (the URL carries the path), reset restores.
      await page.locator('[data-testid=flame-search]').fill('');
      const block = await locateFrame(graph, 'checksum_block');
      assert.ok(block);
      const before = block.width;
      await page.mouse.click(block.x + 5, block.y + 5);
      await page.waitForURL((u) => (u.searchParams.get('focus') ?? '').endsWith('checksum_block'));
      assert.match((await page.locator('[data-testid=breadcrumbs]').textContent()) ?? '', /handle_request.*checksum_block/s);
      const focused = await locateFrame(graph, 'checksum_block');
      assert.ok(focused && focused.width > before * 2, `focused frame ${focused?.width} px wide, was ${before}`);
      await page.mouse.move(5, 5);
      await page.locator('[data-testid=flame-reset]').click();
      await page.waitForURL((u) => !u.searchParams.has('focus'));
      const reset = await locateFrame(graph, 'checksum_block');
      assert.ok(reset && Math.abs(reset.width - before) < 1, 'reset restores the full view');

      // Table: sortable by total.
      await page.locator('[data-testid=sort-total]').click();
      await page.waitForURL((u) => u.searchParams.get('sort') === 'total');
      assert.equal(await rows.first().getAttribute('data-name'), 'main');

      // Sandwich: the known callers of the hot function.
      await page.locator(`[data-testid=function-row][data-name="${EXPLORE.hot}"] [data-testid=row-sandwich]`).click();
      const callers = page.locator('[data-testid=sandwich-callers]');
      await callers.waitFor();
      const text = (await callers.textContent()) ?? '';
      for (const c of EXPLORE.hotCallers) assert.match(text, new RegExp(c));
      await page.locator('[data-testid=sandwich-callers-graph] canvas').waitFor();
      await page.screenshot({ path: artifactPath('ui-sandwich.png'), fullPage: true });

      // The URL reproduces the view in a new page.
      const url = page.url();
      const again = await browser.newPage({ viewport: VIEWPORT });
      try {
        await again.goto(url);
        await again.locator('[data-testid=sandwich-callers]').waitFor();
        assert.equal(await again.locator('[data-testid=sandwich-select]').inputValue(), EXPLORE.hot);
      } finally {
        await again.close();
      }
    });
  });

  it('explore: dragging on the timeline selects a sub-range', async () => {
    await withPage('timeline', async (page) => {
      await page.goto(`${server.url}${explorePath()}`);
      const tl = page.locator('[data-testid=timeline]');
      await tl.locator('path').first().waitFor({ timeout: 20_000 });
      const b = (await tl.boundingBox())!;
      await page.mouse.move(b.x + b.width * 0.6, b.y + 30);
      await page.mouse.down();
      await page.mouse.move(b.x + b.width * 0.9, b.y + 30, { steps: 5 });
      await page.mouse.up();
      await page.waitForURL((u) => /^\d{13}$/.test(u.searchParams.get('from') ?? '') && /^\d{13}$/.test(u.searchParams.get('until') ?? ''));
      await page.locator('[data-testid=flamegraph]').waitFor();
    });
  });

  it('explore: a bad selector shows the server’s message', async () => {
    const bad = '{service="shop"';
    const res = await fetch(`${server.url}/api/v1/flamegraph?query=${encodeURIComponent(bad)}&from=now-1h&until=now`);
    assert.ok(res.status >= 400 && res.status < 500, `bad selector answered ${res.status}`);
    const { error } = (await res.json()) as { error: string };
    await withPage('bad-selector', async (page) => {
      // The page logs the failed request (a 400) to the console: expected here.
      page.removeAllListeners('console');
      await page.goto(`${server.url}/explore?query=${encodeURIComponent(bad)}`);
      const box = page.locator('[data-testid=explore-error]');
      await box.waitFor({ timeout: 15_000 });
      assert.ok(((await box.textContent()) ?? '').includes(error), `the error box shows ${JSON.stringify(error)}`);
    });
  });

  it('deploys: versions list with one-click compare; compare marks the regression and the new frame; URL round trip', async () => {
    await withPage('compare', async (page) => {
      await page.goto(`${server.url}/deploys`);
      await page.locator('[data-testid=service-item]', { hasText: COMPARE.service }).click();
      const rows = page.locator('[data-testid=version-row]');
      await rows.first().waitFor({ timeout: 20_000 });
      assert.deepEqual(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-version'))), [COMPARE.right, COMPARE.left]);
      // Sample counts per version: the agent's `samples` profile type, as the series API totals it.
      const res = await fetch(
        `${server.url}/api/v1/series?query=${encodeURIComponent(`samples{service="${COMPARE.service}"}`)}&groupBy=version&from=now-7d&until=now`,
      );
      const { series } = (await res.json()) as {
        series: { labels: Record<string, string>; total: number; firstSeen: number; lastSeen: number }[];
      };
      const of = (version: string) => series.find((x) => x.labels['version'] === version)!;
      // v1 ran first, then v2: exact first/last seen tell them apart (not rounded to a step).
      assert.ok(
        of(COMPARE.left).firstSeen < of(COMPARE.right).firstSeen && of(COMPARE.left).lastSeen <= of(COMPARE.right).firstSeen,
        JSON.stringify(series),
      );
      const firstSeen = await rows.evaluateAll((els) => els.map((e) => e.querySelectorAll('td')[2]?.textContent));
      assert.notEqual(firstSeen[0], firstSeen[1], 'the versions show different first-seen times');
      for (const version of [COMPARE.left, COMPARE.right]) {
        const want = of(version).total;
        assert.ok(want > 1000, `${version}: ${want} samples in the series API`);
        const shown = await page
          .locator(`[data-testid=version-row][data-version="${version}"] [data-testid=version-samples]`)
          .textContent();
        assert.equal(Number((shown ?? '').replace(/\D/g, '')), want, `${version} samples shown`);
      }
      await page.screenshot({ path: artifactPath('ui-deploys.png'), fullPage: true });

      // One click: the newer version against the one before it.
      await rows.first().locator('[data-testid=compare-previous]').click();
      await page.waitForURL(/\/compare\?/);
      const graph = page.locator('[data-testid=diff-flamegraph]');
      await graph.waitFor({ timeout: 20_000 });

      // The regressions table: the regressed function on top with the right delta.
      const top = page.locator('[data-testid=regressions] [data-testid=diff-row]').first();
      await top.waitFor();
      assert.equal(await top.getAttribute('data-name'), COMPARE.regressed);
      const delta = Number(((await top.locator('[data-testid=diff-delta]').textContent()) ?? '').replace(/[^\d.]/g, ''));
      const expected = (COMPARE.rightShare - COMPARE.leftShare) * 100;
      assert.ok(Math.abs(delta - expected) < 3, `delta ${delta} pp, expected about ${expected}`);
      // The frame only in v2 is marked new.
      const added = page.locator(`[data-testid=diff-row][data-name="${COMPARE.added}"]`);
      assert.equal(await added.getAttribute('data-status'), 'new');

      // The overlay: the regressed frame is drawn red (regression), and says so on hover.
      const reg = await locateFrame(graph, COMPARE.regressed);
      assert.ok(reg, 'the regressed function is drawn');
      const [r, , b] = await pixelAt(graph, reg.x + reg.width / 2, reg.y + reg.height - 3);
      assert.ok(r > b + 60, `regression colour rgb(${r}, …, ${b}) is not red`);
      const regTip = await hoverFrame(page, reg);
      assert.match(regTip, /regression/);
      // Where the frame comes from (the server's metadata.frames): source file, binary, kind.
      const declared =
        readFileSync(join(workloadsDir, 'checkout.c'), 'utf8')
          .split('\n')
          .findIndex((l) => l.startsWith(`NOINLINE void ${COMPARE.regressed}(`)) + 1;
      assert.ok(regTip.includes(`checkout.c:${declared} · checkout · native`), regTip);
      const fresh = await locateFrame(graph, COMPARE.added);
      assert.ok(fresh, 'the new frame is drawn');
      assert.match(await hoverFrame(page, fresh), /new \(only on the right\)/);
      await page.mouse.move(2, 2);
      await page.screenshot({ path: artifactPath('ui-compare.png'), fullPage: true });

      // Split view and absolute values, then the URL in a new page shows the same view.
      await page.locator('[data-testid=layout-split]').click();
      await page.locator('[data-testid=diff-right]').waitFor();
      await page.locator('[data-testid=mode-absolute]').click();
      await page.locator('[data-testid=diff-search]').fill('compute');
      await page.waitForURL(
        (u) =>
          u.searchParams.get('layout') === 'split' &&
          u.searchParams.get('mode') === 'absolute' &&
          u.searchParams.get('search') === 'compute',
      );
      const stats = await canvasStats(page.locator('[data-testid=diff-right]'));
      assert.ok(stats.drawn > 5000, 'the right half of the split view is drawn');
      await page.screenshot({ path: artifactPath('ui-compare-split.png'), fullPage: true });
      const url = page.url();

      const again = await browser.newPage({ viewport: VIEWPORT });
      const { problems } = watchPage(again);
      try {
        await again.goto(url);
        await again.locator('[data-testid=diff-left]').waitFor({ timeout: 20_000 });
        await again.locator('[data-testid=diff-right]').waitFor();
        assert.equal(await again.locator('[data-testid=mode-absolute]').getAttribute('aria-pressed'), 'true');
        assert.equal(await again.locator('[data-testid=diff-search]').inputValue(), 'compute');
        assert.equal(
          await again.locator('[data-testid=left-text]').inputValue(),
          `{service="${COMPARE.service}",version="${COMPARE.left}"}`,
        );
        assert.equal(
          await again.locator('[data-testid=right-text]').inputValue(),
          `{service="${COMPARE.service}",version="${COMPARE.right}"}`,
        );
        const first = again.locator('[data-testid=regressions] [data-testid=diff-row]').first();
        await first.waitFor();
        assert.equal(await first.getAttribute('data-name'), COMPARE.regressed);
        assert.deepEqual(
          problems.filter((p) => !p.includes('net::ERR_ABORTED')),
          [],
        );
      } finally {
        await again.close();
      }
    });
  });

  it('compare: the checkout v1 → v2 regression is significant and first in the API and the tables; noise is hidden until asked for', async () => {
    const left = `{service="${COMPARE.service}",version="${COMPARE.left}"}`;
    const right = `{service="${COMPARE.service}",version="${COMPARE.right}"}`;
    const res = await fetch(
      `${server.url}/api/v1/diff?left=${encodeURIComponent(left)}&right=${encodeURIComponent(right)}&from=now-7d&until=now`,
    );
    if (!res.ok) assert.fail(`GET /api/v1/diff: ${res.status} ${await res.text()}`);
    const { metadata } = (await res.json()) as {
      metadata: { changes: { name: string; leftSelf: number; rightSelf: number; significant: boolean }[] };
    };
    const [top] = metadata.changes;
    assert.equal(top?.name, COMPARE.regressed, JSON.stringify(metadata.changes.slice(0, 5)));
    assert.equal(top.significant, true);
    assert.ok(top.rightSelf > top.leftSelf);
    assert.equal(metadata.changes.find((c) => c.name === COMPARE.added)?.significant, true, 'the function only in v2 is a real change');

    await withPage('compare-noise', async (page) => {
      await page.goto(`${server.url}/compare?left=${encodeURIComponent(left)}&right=${encodeURIComponent(right)}&from=now-7d&until=now`);
      await page.locator('[data-testid=diff-flamegraph]').waitFor({ timeout: 20_000 });
      const first = page.locator('[data-testid=regressions] [data-testid=diff-row]').first();
      await first.waitFor();
      assert.equal(await first.getAttribute('data-name'), COMPARE.regressed);
      assert.equal(await first.getAttribute('data-significant'), 'true');
      const rows = page.locator('[data-testid=diff-row]');
      const significant = async () => rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-significant')));
      assert.ok(
        (await significant()).every((v) => v === 'true'),
        'only significant changes listed by default',
      );
      const shown = await rows.count();
      await page.locator('[data-testid=show-noise]').check();
      await page.locator('[data-testid=diff-row][data-significant=false]').first().waitFor();
      assert.ok((await rows.count()) > shown, 'the toggle lists the changes within noise as well');
      await page.screenshot({ path: artifactPath('ui-compare-noise.png'), fullPage: true });
    });
  });

  it('a server without data shows how to start an agent', async () => {
    const empty = await startUiServer();
    try {
      await withPage('empty', async (page) => {
        await page.goto(`${empty.url}/explore`);
        const box = page.locator('[data-testid=no-data]');
        await box.waitFor({ timeout: 20_000 });
        const text = (await box.textContent()) ?? '';
        assert.match(text, new RegExp(`npx kiln agent --server http://${new URL(empty.url).host}`));
        assert.match(text, /make up/);
        await page.screenshot({ path: artifactPath('ui-empty.png'), fullPage: true });
      });
    } finally {
      await empty.stop();
    }
  });
});
