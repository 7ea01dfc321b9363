// Kernel signals in the UI, in Chromium against a real `kiln server` on embedded storage: throttle
// and run-queue waits and episodes and retransmitting connections as the agent sends them
// (msgpack, POST /api/v1/ingest/signals), CPU profiles of the same service (POST /ingest), and an
// agent span carrying its latency breakdown (POST /api/v1/ingest/spans).
// Screenshots: test/artifacts/ui-signals-*.png.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { pack } from 'msgpackr';
import type { Browser, Locator, Page } from 'playwright-core';
import type {
  AgentCgroupWaits,
  AgentConnectionRetransmits,
  AgentSchedEpisode,
  AgentSignalBatch,
  AgentSpan,
  SignalsResponse,
  SpanBreakdown,
  TraceResponse,
} from '@kiln/api/http';
import { artifactPath, launchBrowser, withPage as withBrowserPage } from './lib/browser.js';
import { eventually, getJson } from './lib/server-api.js';
import { ingestFolded } from './lib/ui-data.js';
import { startUiServer, type UiServer } from './lib/ui-server.js';

const VIEWPORT = { width: 1400, height: 1200 };
const SERVICE = 'ui-signals-shop';
const SELECTOR = `{service="${SERVICE}"}`;
const LABELS = { service: SERVICE, node: 'ui-signals-node' };
const CGROUP = '/kiln-ui/shop';
const PROFILE_LINES = ['main;serve;handle_request;render_page 300', 'main;serve;handle_request;parse_json 100', 'main;gc_collect 50'];
/** The span whose thread was throttled, and where its 100 ms went. */
const BREAKDOWN: SpanBreakdown = {
  onCpuNs: 30_000_000,
  runQueueNs: 15_000_000,
  throttledNs: 45_000_000,
  offCpuNs: 10_000_000,
  retransmits: 2,
};

const hexId = (bytes: number): string => randomBytes(bytes).toString('hex');
const unixNano = (ms: number): string => (BigInt(Math.round(ms * 1000)) * 1000n).toString();

interface SeededEpisode {
  startMs: number;
  durationNs: number;
  tid: number;
}

interface Seeded {
  throttle: SeededEpisode[];
  runqueue: SeededEpisode[];
  throttleNs: number;
  runqueueNs: number;
  retransmitSegments: number;
  traceId: string;
  spanId: string;
}

async function post(url: string, body: Uint8Array | string, contentType: string): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': contentType } });
  const text = await res.text();
  assert.equal(res.status, 200, `POST ${url}: ${res.status} ${text}`);
  return JSON.parse(text) as unknown;
}

/** log2 buckets of microseconds, as bpf/sched.h fills them. */
function histogram(durationsNs: readonly number[]): number[] {
  const h = new Array<number>(32).fill(0);
  for (const ns of durationsNs) h[Math.min(31, Math.floor(Math.log2(Math.max(1, ns / 1000))))]! += 1;
  return h;
}

/**
 * Episodes of one kind in groups (each a burst within a second), and the waits of the intervals
 * they fell in. The waits hold exactly the episodes, so the totals are the same whether the server
 * sums waits or episodes.
 */
function waitsOf(
  kind: 'throttle' | 'runqueue',
  groups: readonly { atMs: number; durationsMs: readonly number[] }[],
  spanId: string,
): { episodes: AgentSchedEpisode[]; waits: AgentCgroupWaits[]; seeded: SeededEpisode[] } {
  const episodes: AgentSchedEpisode[] = [];
  const waits: AgentCgroupWaits[] = [];
  const seeded: SeededEpisode[] = [];
  let tid = kind === 'throttle' ? 4100 : 4200;
  for (const g of groups) {
    const durationsNs = g.durationsMs.map((ms) => ms * 1e6);
    durationsNs.forEach((durationNs, i) => {
      const startMs = g.atMs + i * 150;
      tid += 1;
      seeded.push({ startMs, durationNs, tid });
      episodes.push({
        kind,
        cgroup: CGROUP,
        labels: LABELS,
        startUnixNano: unixNano(startMs),
        durationNs,
        pid: 4100,
        tid,
        comm: 'shop-worker',
        spanId: i === 0 ? spanId : '',
      });
    });
    waits.push({
      kind,
      cgroup: CGROUP,
      labels: LABELS,
      timeUnixMs: g.atMs + 1000,
      intervalMs: 1000,
      totalNs: durationsNs.reduce((a, b) => a + b, 0),
      count: durationsNs.length,
      histogram: histogram(durationsNs),
    });
  }
  return { episodes, waits, seeded };
}

function connection(atMs: number, segments: number, remotePort: number): AgentConnectionRetransmits {
  return {
    timeUnixMs: atMs + 1000,
    firstUnixNano: unixNano(atMs),
    lastUnixNano: unixNano(atMs + 800),
    segments,
    hits: Math.ceil(segments / 2),
    family: 'ipv4',
    localAddress: '10.0.0.1',
    localPort: 43210,
    remoteAddress: '10.0.0.2',
    remotePort,
    state: 'ESTABLISHED',
    synack: false,
    pid: 4100,
    tid: 4100,
    comm: 'shop-worker',
    cgroup: CGROUP,
    labels: LABELS,
  };
}

async function seed(serverUrl: string): Promise<Seeded> {
  const now = Date.now();
  const traceId = hexId(16);
  const spanId = hexId(8);

  // Ten minutes of CPU profiles, one 10-second upload a minute.
  const nowS = Math.floor(now / 1000);
  for (let i = 10; i >= 1; i--) await ingestFolded(serverUrl, `${SERVICE}{pod=shop-0}`, PROFILE_LINES, nowS - i * 60 - 10, nowS - i * 60);

  const throttle = waitsOf(
    'throttle',
    [
      { atMs: now - 6 * 60_000, durationsMs: [40, 25, 60] },
      { atMs: now - 3 * 60_000, durationsMs: [30, 12] },
    ],
    spanId,
  );
  const runqueue = waitsOf('runqueue', [{ atMs: now - 5 * 60_000, durationsMs: [8, 6, 9, 7] }], '');
  const retransmits = [connection(now - 4 * 60_000, 7, 80), connection(now - 2 * 60_000, 5, 5432)];
  const batch: AgentSignalBatch = {
    waits: [...throttle.waits, ...runqueue.waits],
    episodes: [...throttle.episodes, ...runqueue.episodes],
    cpuStats: [
      {
        cgroup: CGROUP,
        labels: LABELS,
        timeUnixMs: now - 3 * 60_000 + 1000,
        intervalMs: 240_000,
        periods: 2400,
        throttledPeriods: 5,
        throttledNs: 167_000_000,
        quotaUs: 10_000,
        periodUs: 100_000,
      },
    ],
    retransmits,
  };
  const answer = await post(`${serverUrl}/api/v1/ingest/signals`, pack(batch), 'application/msgpack');
  const records = batch.waits.length + batch.episodes.length + batch.cpuStats.length + batch.retransmits.length;
  assert.deepEqual(answer, { accepted: records, rejected: 0 });

  const span: AgentSpan = {
    traceId,
    spanId,
    parentSpanId: '',
    name: 'GET /slow',
    kind: 'server',
    startUnixNano: unixNano(now - 6 * 60_000 - 20),
    durationNs: 100_000_000,
    status: 'ok',
    statusMessage: '',
    labels: LABELS,
    attributes: { 'http.request.method': 'GET', 'url.path': '/slow', 'kiln.attribution': 'exact' },
    breakdown: BREAKDOWN,
  };
  assert.deepEqual(await post(`${serverUrl}/api/v1/ingest/spans`, pack({ spans: [span] }), 'application/msgpack'), {
    accepted: 1,
    rejected: 0,
  });

  const sum = (e: readonly SeededEpisode[]): number => e.reduce((a, x) => a + x.durationNs, 0);
  const seeded: Seeded = {
    throttle: throttle.seeded,
    runqueue: runqueue.seeded,
    throttleNs: sum(throttle.seeded),
    runqueueNs: sum(runqueue.seeded),
    retransmitSegments: retransmits.reduce((a, c) => a + c.segments, 0),
    traceId,
    spanId,
  };

  // Stored before the browser looks: every signal's total, the span's breakdown, the profiles.
  const expected = { throttle: seeded.throttleNs, runqueue: seeded.runqueueNs, retransmit: seeded.retransmitSegments };
  for (const [kind, total] of Object.entries(expected)) {
    await eventually(
      async () => {
        const r = await getJson<SignalsResponse>(serverUrl, '/api/v1/signals', { kind, query: SELECTOR, from: 'now-15m', until: 'now' });
        return r.body.total === total ? true : undefined;
      },
      60_000,
      `the seeded ${kind} total (${total}) from /api/v1/signals`,
    );
  }
  await eventually(
    async () => {
      const r = await getJson<TraceResponse>(serverUrl, `/api/v1/traces/${traceId}`);
      return r.body.spans?.[0]?.breakdown ? true : undefined;
    },
    60_000,
    'the seeded span with its breakdown',
  );
  return seeded;
}

/** Page x of time `ms` on a timeline (its drawing spans its element's [data-from-ms, data-until-ms]). */
async function xOf(timeline: Locator, ms: number): Promise<{ x: number; y: number }> {
  const box = (await timeline.locator('svg').boundingBox())!;
  const fromMs = Number(await timeline.getAttribute('data-from-ms'));
  const untilMs = Number(await timeline.getAttribute('data-until-ms'));
  return { x: box.x + ((ms - fromMs) / (untilMs - fromMs)) * box.width, y: box.y + box.height / 2 };
}

describe('web UI: kernel signals', () => {
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
    withBrowserPage({ browser, prefix: 'ui-signals', server, viewport: VIEWPORT, allowClientErrors: true }, name, body);

  const explorePath = `/explore?query=${encodeURIComponent(SELECTOR)}&from=now-15m`;

  it('explore shows the three signal timelines with the seeded totals; a throttle bucket lists its episodes', async () => {
    await withPage('explore', async (page) => {
      await page.goto(`${server.url}${explorePath}`);
      await page.locator('[data-testid=explore-summary]').waitFor({ timeout: 30_000 });
      const totals = { throttle: seeded.throttleNs, runqueue: seeded.runqueueNs, retransmit: seeded.retransmitSegments };
      for (const [kind, total] of Object.entries(totals)) {
        const t = page.locator(`[data-testid=signal-${kind}]`);
        await page.locator(`[data-testid=signal-timeline-${kind}]`).waitFor({ timeout: 30_000 });
        assert.equal(Number(await t.getAttribute('data-total')), total, `${kind} total`);
      }
      assert.equal((await page.locator('[data-testid=signal-throttle] [data-testid=signal-total]').textContent())?.trim(), '167 ms');
      assert.equal((await page.locator('[data-testid=signal-runqueue] [data-testid=signal-total]').textContent())?.trim(), '30.0 ms');
      assert.equal((await page.locator('[data-testid=signal-retransmit] [data-testid=signal-total]').textContent())?.trim(), '12 segments');
      // The signal timelines are drawn on the CPU timeline's axis.
      const cpu = page.locator('[data-testid=timeline]');
      const throttle = page.locator('[data-testid=signal-timeline-throttle]');
      assert.equal(await throttle.getAttribute('data-from-ms'), await cpu.getAttribute('data-from-ms'));
      assert.equal(await throttle.getAttribute('data-until-ms'), await cpu.getAttribute('data-until-ms'));
      await page.screenshot({ path: artifactPath('ui-signals-explore.png'), fullPage: true });

      // A click on the first burst's bucket lists the episodes of that bucket. The first click
      // shows where the buckets are cut; the second lands in the middle of the one holding the burst.
      const first = seeded.throttle[0]!;
      const bucket = page.locator('[data-testid=signal-bucket][data-kind=throttle]');
      const clickAt = async (ms: number): Promise<void> => {
        const at = await xOf(throttle, ms);
        await page.mouse.click(at.x, at.y);
      };
      await clickAt(first.startMs);
      await bucket.waitFor({ timeout: 15_000 });
      const cut = {
        fromMs: Number(await bucket.getAttribute('data-from-ms')),
        untilMs: Number(await bucket.getAttribute('data-until-ms')),
      };
      const stepMs = cut.untilMs - cut.fromMs;
      const fromMs = cut.fromMs + Math.floor((first.startMs - cut.fromMs) / stepMs) * stepMs;
      const untilMs = fromMs + stepMs;
      await clickAt(fromMs + stepMs / 2);
      await eventually(
        async () => (Number(await bucket.getAttribute('data-from-ms')) === fromMs ? true : undefined),
        15_000,
        `the bucket from ${fromMs} picked`,
      );
      const rows = bucket.locator('[data-testid=signal-episode]');
      await rows.first().waitFor({ timeout: 15_000 });
      const listed = new Set(await rows.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-tid')))));
      // Every episode that started in the bucket, and none that did not overlap it.
      for (const e of seeded.throttle) {
        if (e.startMs >= fromMs && e.startMs < untilMs) assert.ok(listed.has(e.tid), `episode of tid ${e.tid} listed`);
        if (e.startMs + e.durationNs / 1e6 <= fromMs || e.startMs >= untilMs)
          assert.ok(!listed.has(e.tid), `episode of tid ${e.tid} not listed`);
      }
      assert.equal(
        Number(await bucket.locator(`[data-testid=signal-episode][data-tid="${first.tid}"]`).getAttribute('data-duration-ns')),
        first.durationNs,
      );
      // The episode whose thread served the span names it, and links to its trace.
      const spanLink = bucket.locator('[data-testid=episode-span]').first();
      assert.equal(await spanLink.textContent(), seeded.spanId);
      assert.match((await spanLink.getAttribute('href')) ?? '', new RegExp(`/traces/trace\\?id=${seeded.traceId}&span=${seeded.spanId}$`));
      await page.screenshot({ path: artifactPath('ui-signals-bucket.png'), fullPage: true });
    });
  });

  it('a range dragged on the throttle timeline becomes the flame graph’s range', async () => {
    await withPage('drag', async (page) => {
      await page.goto(`${server.url}${explorePath}`);
      await page.locator('[data-testid=explore-summary]').waitFor({ timeout: 30_000 });
      const throttle = page.locator('[data-testid=signal-timeline-throttle]');
      await throttle.waitFor({ timeout: 30_000 });
      const from = seeded.throttle[0]!.startMs - 60_000;
      const until = seeded.throttle[seeded.throttle.length - 1]!.startMs + 30_000;
      const a = await xOf(throttle, from);
      const b = await xOf(throttle, until);
      const reloaded = page.waitForResponse((r) => {
        const u = new URL(r.url());
        return u.pathname === '/api/v1/flamegraph' && /^\d+$/.test(u.searchParams.get('from') ?? '') && r.ok();
      });
      await page.mouse.move(a.x, a.y);
      await page.mouse.down();
      await page.mouse.move(b.x, b.y, { steps: 8 });
      await page.mouse.up();
      await page.waitForURL(/[?&]until=\d+/);
      const url = new URL(page.url());
      // A pixel of a 15-minute axis is under a second; a bucket is 10 s.
      const tolerance = 10_000;
      assert.ok(Math.abs(Number(url.searchParams.get('from')) - from) < tolerance, `from ${url.searchParams.get('from')} ≈ ${from}`);
      assert.ok(Math.abs(Number(url.searchParams.get('until')) - until) < tolerance, `until ${url.searchParams.get('until')} ≈ ${until}`);
      const fg = new URL((await reloaded).url());
      assert.equal(fg.searchParams.get('from'), url.searchParams.get('from'));
      assert.equal(fg.searchParams.get('until'), url.searchParams.get('until'));
      await page.locator('[data-testid=explore-summary]').waitFor({ timeout: 30_000 });
      // Every timeline follows: the CPU and throttle timelines are redrawn on the new range, with both bursts' time.
      for (const [name, t] of [
        ['CPU', page.locator('[data-testid=timeline]')],
        ['throttle', throttle],
      ] as const) {
        await eventually(
          async () => ((await t.getAttribute('data-from-ms')) === url.searchParams.get('from') ? true : undefined),
          15_000,
          `the ${name} timeline on the dragged range`,
        );
      }
      await eventually(
        async () =>
          Number(await page.locator('[data-testid=signal-throttle]').getAttribute('data-total')) === seeded.throttleNs ? true : undefined,
        15_000,
        'the dragged range holds all the throttling',
      );
      await page.screenshot({ path: artifactPath('ui-signals-dragged.png'), fullPage: true });
    });
  });

  it('a bad selector: each signal says it is unavailable, the page stands', async () => {
    await withPage('error', async (page) => {
      await page.goto(`${server.url}/explore?query=${encodeURIComponent('{service=')}&from=now-15m`);
      await page.locator('[data-testid=explore-error]').waitFor({ timeout: 30_000 });
      await eventually(
        async () => ((await page.locator('[data-testid=signal-error]').count()) === 3 ? true : undefined),
        15_000,
        'three error lines',
      );
    });
  });

  it('a span’s details show its latency as a stacked bar of the seeded breakdown, with its retransmits', async () => {
    await withPage('span', async (page) => {
      await page.goto(`${server.url}/traces/trace?id=${seeded.traceId}&span=${seeded.spanId}`);
      const bar = page.locator('[data-testid=span-breakdown]');
      await bar.waitFor({ timeout: 30_000 });
      const parts = await bar
        .locator('[data-testid=breakdown-segment]')
        .evaluateAll((els) => els.map((e) => [e.getAttribute('data-part'), Number(e.getAttribute('data-ns'))]));
      assert.deepEqual(parts, [
        ['on-cpu', BREAKDOWN.onCpuNs],
        ['run-queue', BREAKDOWN.runQueueNs],
        ['throttled', BREAKDOWN.throttledNs],
        ['off-cpu', BREAKDOWN.offCpuNs],
      ]);
      assert.equal(Number(await bar.getAttribute('data-retransmits')), BREAKDOWN.retransmits);
      // Widths follow the parts: throttled (45%) is three times the run queue (15%).
      const width = async (part: string): Promise<number> =>
        (await bar.locator(`[data-testid=breakdown-segment][data-part=${part}]`).boundingBox())!.width;
      const ratio = (await width('throttled')) / (await width('run-queue'));
      assert.ok(Math.abs(ratio - 3) < 0.1, `throttled/run-queue width ratio ${ratio}`);
      assert.match((await bar.locator('[role=img]').getAttribute('aria-label')) ?? '', /throttled 45\.0 ms \(45\.0%\)/);
      await page.screenshot({ path: artifactPath('ui-signals-span.png'), fullPage: true });
    });
  });
});
