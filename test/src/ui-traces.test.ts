// The Traces pages in Chromium against a real `kiln server` on embedded storage: spans from the
// agent (msgpack, POST /api/v1/ingest/spans) and from an SDK (OTLP/JSON, POST /v1/traces) in the
// same trace, and CPU samples stamped with span ids (pprof with `span_id` labels, POST /ingest).
// Screenshots: test/artifacts/ui-traces-*.png.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { pack } from 'msgpackr';
import type { Browser, Page } from 'playwright-core';
import type { AgentSpan, TracesResponse } from '@kiln/api/http';
import { artifactPath, launchBrowser, withPage as withBrowserPage } from './lib/browser.js';
import { eventually, getJson, gzipPprof, ingest, makePprof, type SyntheticSample } from './lib/server-api.js';
import { locateFrame } from './lib/ui-page.js';
import { startUiServer, type UiServer } from './lib/ui-server.js';

const VIEWPORT = { width: 1400, height: 1000 };
const SERVICE = 'ui-traces-shop';
const SELECTOR = `{service="${SERVICE}"}`;
/** The slowest request: an agent server span with an SDK child and an agent client child (its SQL). */
const REPORT = { name: 'GET /report', fn: 'report_build', durationMs: 2400 };
const SQL = { name: 'SELECT * FROM reports WHERE id = ?', durationMs: 1200 };
/** A route whose slow requests run a function its typical ones never do. */
const CHECKOUT = { name: 'POST /checkout', typicalFn: 'checkout_render', slowFn: 'checkout_fraud_check', spans: 40, slow: 2 };

const hexId = (bytes: number): string => randomBytes(bytes).toString('hex');

interface Seeded {
  reportTraceId: string;
  reportSpanId: string;
  sqlSpanId: string;
}

async function post(url: string, body: Uint8Array | string, contentType: string): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': contentType } });
  const text = await res.text();
  assert.equal(res.status, 200, `POST ${url}: ${res.status} ${text}`);
  return JSON.parse(text) as unknown;
}

async function seed(serverUrl: string): Promise<Seeded> {
  const t0 = Date.now() - 120_000;
  const agentSpan = (s: Partial<AgentSpan> & Pick<AgentSpan, 'name' | 'durationNs'>, startMs: number): AgentSpan => ({
    traceId: hexId(16),
    spanId: hexId(8),
    parentSpanId: '',
    kind: 'server',
    startUnixNano: (BigInt(Math.round(startMs)) * 1_000_000n).toString(),
    status: 'ok',
    statusMessage: '',
    labels: { service: SERVICE, node: 'ui-traces-node' },
    attributes: { 'kiln.attribution': 'exact' },
    ...s,
  });

  const report = agentSpan(
    {
      name: REPORT.name,
      durationNs: REPORT.durationMs * 1e6,
      attributes: { 'http.request.method': 'GET', 'url.path': '/report', 'http.response.status_code': '200', 'kiln.attribution': 'exact' },
    },
    t0,
  );
  const sql = agentSpan(
    {
      traceId: report.traceId,
      parentSpanId: report.spanId,
      kind: 'client',
      name: SQL.name,
      durationNs: SQL.durationMs * 1e6,
      attributes: { 'db.system.name': 'postgresql', 'db.query.text': SQL.name },
    },
    t0 + 900,
  );
  const checkout = Array.from({ length: CHECKOUT.spans }, (_, i) =>
    agentSpan(
      // Typical requests take 20–39 ms; the slow ones 800 and 900 ms (above the route's p95).
      { name: CHECKOUT.name, durationNs: (i < CHECKOUT.spans - CHECKOUT.slow ? 20 + (i % 20) : 800 + 100 * (i % CHECKOUT.slow)) * 1e6 },
      t0 + 1000 + i * 1000,
    ),
  );
  const batch = await post(`${serverUrl}/api/v1/ingest/spans`, pack({ spans: [report, sql, ...checkout] }), 'application/msgpack');
  assert.deepEqual(batch, { accepted: CHECKOUT.spans + 2, rejected: 0 });

  // The SDK's own span inside the agent's server span of the same trace.
  const ns = (ms: number): string => (BigInt(Math.round(ms)) * 1_000_000n).toString();
  await post(
    `${serverUrl}/v1/traces`,
    JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: SERVICE } }] },
          scopeSpans: [
            {
              scope: { name: 'ui-traces' },
              spans: [
                {
                  traceId: report.traceId,
                  spanId: hexId(8),
                  parentSpanId: report.spanId,
                  name: 'render report',
                  kind: 1,
                  startTimeUnixNano: ns(t0 + 100),
                  endTimeUnixNano: ns(t0 + 800),
                  attributes: [{ key: 'report.rows', value: { intValue: '1200' } }],
                  status: {},
                },
              ],
            },
          ],
        },
      ],
    }),
    'application/json',
  );

  // CPU samples stamped with the spans they were taken in, as the agent sends them.
  const sample = (spanId: string, fn: string, n: number): SyntheticSample => ({
    stack: ['main', 'serve', fn],
    values: [n * 10_000_000, n],
    labels: { service: SERVICE, node: 'ui-traces-node', span_id: spanId },
  });
  const samples: SyntheticSample[] = [sample(report.spanId, REPORT.fn, 60)];
  checkout.forEach((s, i) => {
    samples.push(sample(s.spanId, CHECKOUT.typicalFn, 2));
    if (i >= CHECKOUT.spans - CHECKOUT.slow) samples.push(sample(s.spanId, CHECKOUT.slowFn, 40));
  });
  const pprof = makePprof(
    [
      ['cpu', 'nanoseconds'],
      ['samples', 'count'],
    ],
    samples,
    { timeMs: t0 },
  );
  const from = Math.floor(t0 / 1000);
  const up = await ingest(
    serverUrl,
    { name: 'kiln-agent', format: 'pprof', spyName: 'kiln-agent', from, until: from + 60 },
    gzipPprof(pprof),
  );
  assert.equal(up.status, 200, JSON.stringify(up.body));

  // Stored and stamped before the browser looks.
  await eventually(
    async () => {
      const r = await getJson<TracesResponse>(serverUrl, '/api/v1/traces', { query: SELECTOR, from: 'now-15m', until: 'now' });
      const first = r.body.spans?.[0];
      return r.body.spans?.length === CHECKOUT.spans + 3 && first?.spanId === report.spanId && first.cpuSamples === 60 ? true : undefined;
    },
    60_000,
    'the seeded spans listed with their CPU samples',
  );
  return { reportTraceId: report.traceId, reportSpanId: report.spanId, sqlSpanId: sql.spanId };
}

describe('web UI: traces', () => {
  let browser: Browser;
  let server: UiServer;
  let seeded: Seeded;

  before(async () => {
    browser = await launchBrowser();
    server = await startUiServer();
    seeded = await seed(server.url);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const withPage = (name: string, body: (page: Page) => Promise<void>): Promise<void> =>
    withBrowserPage({ browser, prefix: 'ui-traces', server, viewport: VIEWPORT, allowClientErrors: true }, name, body);

  const tracesPath = `/traces?query=${encodeURIComponent(SELECTOR)}&from=now-15m`;

  it('lists the slowest span first; it opens its trace: agent and SDK spans in one waterfall, and its flame graph holds its function', async () => {
    await withPage('list', async (page) => {
      await page.goto(`${server.url}${tracesPath}`);
      const rows = page.locator('[data-testid=span-row]');
      await rows.first().waitFor({ timeout: 30_000 });
      await page.locator('[data-testid=trace-heatmap] rect[data-count]').first().waitFor({ timeout: 30_000 });
      assert.equal(await rows.first().getAttribute('data-span'), seeded.reportSpanId);
      assert.equal(await rows.first().getAttribute('data-name'), REPORT.name);
      assert.equal(await rows.count(), CHECKOUT.spans + 3);
      await page.screenshot({ path: artifactPath('ui-traces-list.png'), fullPage: true });

      await rows.first().locator('[data-testid=span-link]').click();
      await page.waitForURL(/\/traces\/trace\?/);
      const waterfall = page.locator('[data-testid=waterfall-row]');
      await waterfall.nth(2).waitFor({ timeout: 30_000 });
      assert.equal(await waterfall.count(), 3);
      // The root first; the SDK span and the SQL call under it by start time.
      assert.deepEqual(
        await waterfall.evaluateAll((els) =>
          els.map((e) => [e.getAttribute('data-depth'), e.textContent?.includes('otlp') ? 'otlp' : 'ebpf']),
        ),
        [
          ['0', 'ebpf'],
          ['1', 'otlp'],
          ['1', 'ebpf'],
        ],
      );
      assert.equal(await page.locator('[data-testid=span-details]').getAttribute('data-span'), seeded.reportSpanId);
      assert.match((await page.locator('[data-testid=span-attribution]').textContent()) ?? '', /exact/);
      const graph = page.locator('[data-testid=span-flamegraph] [data-testid=flamegraph]').first();
      await graph.waitFor({ timeout: 30_000 });
      await eventually(async () => ((await locateFrame(graph, REPORT.fn)) ? true : undefined), 15_000, `frame ${REPORT.fn} drawn`);
      await page.locator(`[data-testid=function-row][data-name="${REPORT.fn}"]`).waitFor();
      assert.equal(await page.locator('[data-testid=span-pprof]').getAttribute('href'), `/api/v1/spans/${seeded.reportSpanId}/pprof`);
      await page.screenshot({ path: artifactPath('ui-traces-trace.png'), fullPage: true });

      // The SQL client span took no CPU samples of its own: said so, no empty graph.
      await page.locator(`[data-testid=waterfall-row][data-span="${seeded.sqlSpanId}"]`).click();
      await page
        .locator(`[data-testid=span-details][data-span="${seeded.sqlSpanId}"] [data-testid=span-no-samples]`)
        .waitFor({ timeout: 15_000 });
    });
  });

  it('an area dragged on the heatmap lists only the spans in it', async () => {
    await withPage('heatmap', async (page) => {
      await page.goto(`${server.url}${tracesPath}`);
      await page.locator('[data-testid=span-row]').first().waitFor({ timeout: 30_000 });
      // The cells of spans of a second or more: the report and its SQL call, nothing of checkout.
      const cells = page.locator('[data-testid=trace-heatmap] rect[data-count]');
      await cells.first().waitFor({ timeout: 30_000 });
      const rowOf = async (ms: number): Promise<number> => {
        const r = await getJson<{ durationBoundsNs: number[] }>(server.url, '/api/v1/traces/heatmap', {
          query: SELECTOR,
          from: 'now-15m',
          until: 'now',
        });
        return r.body.durationBoundsNs.findIndex((b, i) => b <= ms * 1e6 && ms * 1e6 < r.body.durationBoundsNs[i + 1]!);
      };
      const reportCell = page.locator(`[data-testid=trace-heatmap] rect[data-row="${await rowOf(REPORT.durationMs)}"]`).first();
      const sqlCell = page.locator(`[data-testid=trace-heatmap] rect[data-row="${await rowOf(SQL.durationMs)}"]`).first();
      const a = (await reportCell.boundingBox())!;
      const b = (await sqlCell.boundingBox())!;
      await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
      await page.mouse.down();
      await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 5 });
      await page.mouse.up();
      await page.waitForURL(/box=/);
      await page.locator('[data-testid=heatmap-selection]').waitFor();
      const rows = page.locator('[data-testid=span-row]');
      await eventually(async () => ((await rows.count()) === 2 ? true : undefined), 30_000, 'the two spans of the box listed');
      assert.deepEqual(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-name'))), [REPORT.name, SQL.name]);
      await page.screenshot({ path: artifactPath('ui-traces-heatmap-box.png'), fullPage: true });
    });
  });

  it('compare slow with typical on a route shows the slow requests’ own function as the top regression', async () => {
    await withPage('compare', async (page) => {
      await page.goto(`${server.url}${tracesPath}`);
      const row = page.locator(`[data-testid=span-row][data-name="${CHECKOUT.name}"]`).first();
      await row.waitFor({ timeout: 30_000 });
      await row.locator('[data-testid=compare-slow]').click();
      await page.waitForURL(/\/traces\/compare\?/);
      const top = page.locator('[data-testid=regressions] [data-testid=diff-row]').first();
      await top.waitFor({ timeout: 30_000 });
      assert.equal(await top.getAttribute('data-name'), CHECKOUT.slowFn);
      assert.match(
        (await page.locator('[data-testid=group-slow]').textContent()) ?? '',
        new RegExp(`^Slow .*${CHECKOUT.slow} spans, 800 ms–900 ms`),
      );
      assert.match(
        (await page.locator('[data-testid=group-typical]').textContent()) ?? '',
        /^Typical .*\d+ spans, \d+\.?\d* ms–\d+\.?\d* ms/,
      );
      await page.screenshot({ path: artifactPath('ui-traces-compare.png'), fullPage: true });

      // A route with one span: too few to compare, and the page says why.
      await page.goto(
        `${server.url}/traces/compare?name=${encodeURIComponent(REPORT.name)}&query=${encodeURIComponent(SELECTOR)}&from=now-15m&until=now`,
      );
      await page
        .locator('[data-testid=span-compare-refused]')
        .filter({ hasText: /at least/ })
        .waitFor({ timeout: 30_000 });
    });
  });
});
