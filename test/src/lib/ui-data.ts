// Known profiles for the UI tests, pushed through Pyroscope's `POST /ingest` (folded format).
// The compare data comes from real workload runs profiled by the agent.
import { freePort, runKiln, waitForOk } from './kiln.js';
import { buildWorkloads, startWorkload } from './workloads.js';

/** Pushes folded stacks (`a;b;c 100` lines) as `name` (`APP{k=v,...}`) for [fromS, untilS]. */
export async function ingestFolded(
  serverUrl: string,
  name: string,
  lines: readonly string[],
  fromS: number,
  untilS: number,
): Promise<void> {
  const q = new URLSearchParams({
    name,
    from: String(fromS),
    until: String(untilS),
    format: 'folded',
    sampleRate: '100',
    spyName: 'kiln-test',
  });
  const res = await fetch(`${serverUrl}/ingest?${q.toString()}`, {
    method: 'POST',
    body: lines.join('\n') + '\n',
    headers: { 'content-type': 'text/plain' },
  });
  if (!res.ok) throw new Error(`POST /ingest ${name}: ${res.status} ${await res.text()}`);
}

const nowS = (): number => Math.floor(Date.now() / 1000);

/**
 * Several minutes of one profile, spread over `minutes` 10-second uploads ending `endAgoS`
 * seconds ago (so the timeline has a shape).
 */
async function spread(serverUrl: string, name: string, lines: readonly string[], minutes: number, endAgoS: number): Promise<void> {
  const end = nowS() - endAgoS;
  const uploads = Math.max(1, Math.round((minutes * 60) / 60));
  for (let i = 0; i < uploads; i++) {
    const until = end - (uploads - 1 - i) * 60;
    await ingestFolded(serverUrl, name, lines, until - 10, until);
  }
}

/** What the explore tests assert on. */
export const EXPLORE = {
  service: 'shop',
  /** The hot function: ~45% of all samples, all self time. */
  hot: 'crc32_update',
  hotShare: 0.45,
  /** Callers of `hot` (sandwich view). */
  hotCallers: ['checksum_block', 'verify_upload'],
  lines: [
    'main;http_serve;handle_request;parse_json 120',
    'main;http_serve;handle_request;render_page;template_exec 180',
    'main;http_serve;handle_request;checksum_block;crc32_update 300',
    'main;worker_loop;verify_upload;crc32_update 150',
    'main;worker_loop;verify_upload;read_file;vfs_read [kernel.kallsyms] 60',
    'main;worker_loop;compress;deflate_slow 90',
    'main;gc_collect;runtime.scanobject 50',
    'main;worker_loop;JS:*transform /app/lib/transform.js:41:7 50',
  ],
} as const;

/** One service with the known profile above, over the last ~15 minutes. */
export async function seedExploreData(serverUrl: string): Promise<void> {
  await spread(serverUrl, `${EXPLORE.service}{version=v7,pod=shop-0}`, EXPLORE.lines, 10, 30);
  // Thousands of label values elsewhere: the pickers must stay usable.
  const noisy = Array.from({ length: 3000 }, (_, i) => `noise-${String(i).padStart(4, '0')}`);
  for (let i = 0; i < noisy.length; i += 500) {
    await Promise.all(
      noisy.slice(i, i + 500).map((pod) => ingestFolded(serverUrl, `noise{pod=${pod}}`, ['main;idle 1'], nowS() - 120, nowS() - 110)),
    );
  }
}

/** A stack deeper than any window is tall (120 frames of 18 px): the flame graph scrolls inside itself. */
export const DEEP = {
  service: 'deep',
  /** Under `main`: a chain `walk_0` → … → `walk_119` (80%), and a shallow sibling. */
  lines: [`main;${Array.from({ length: 120 }, (_, i) => `walk_${i}`).join(';')} 400`, 'main;shallow 100'],
};

/** The deep stack above, over the last ~5 minutes. */
export async function seedDeepData(serverUrl: string): Promise<void> {
  await spread(serverUrl, `${DEEP.service}{version=d1}`, DEEP.lines, 5, 30);
}

/** What the compare and deploys tests assert on. */
export const COMPARE = {
  service: 'checkout',
  left: 'v1',
  right: 'v2',
  /** Rises from 10% (v1) to 40% (v2) of samples. */
  regressed: 'compute_discounts',
  leftShare: 0.1,
  rightShare: 0.4,
  /** Only in v2. */
  added: 'fraud_score_v2',
} as const;

/**
 * Two versions of one service, each a real run of test/workloads/checkout.c profiled by the agent
 * on this host and told apart only by OTEL_RESOURCE_ATTRIBUTES=service.version=v1|v2 in the
 * process's environment: `compute_discounts` rises from 10% to 40%, `fraud_score_v2` exists
 * only in v2. v1 runs first, then v2.
 */
export async function seedCompareData(serverUrl: string): Promise<void> {
  await seedVersionRuns(serverUrl, [
    { workload: `${COMPARE.left}/checkout`, version: COMPARE.left },
    { workload: `${COMPARE.right}/checkout`, version: COMPARE.right },
  ]);
}

/** Runs each workload for 10 s, one after the other, as `service.version` of its run, under a real agent pushing to the server. */
export async function seedVersionRuns(serverUrl: string, runs: { workload: string; version: string }[]): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('seeding versions runs the BPF agent and needs root');
  buildWorkloads();
  const metricsPort = await freePort();
  const agent = runKiln(['agent', '--server', serverUrl, '--interval', '2s', '--frequency', '299', '--metrics-port', String(metricsPort)]);
  try {
    await waitForOk(`http://127.0.0.1:${metricsPort}/metrics`, agent);
    for (const { workload, version } of runs) {
      const run = await startWorkload(workload, ['10', '2'], {
        env: { OTEL_RESOURCE_ATTRIBUTES: `service.version=${version}` },
      });
      const code = await run.exited;
      if (code !== 0) throw new Error(`${workload} as ${version} exited with ${code}`);
    }
  } catch (err) {
    await agent.stop();
    throw err;
  }
  // Stopping flushes the last interval to the server.
  const code = await agent.stop(30_000);
  if (code !== 0) throw new Error(`the agent exited with ${code}:\n${agent.output().slice(-3000)}`);
}
