// /ingest end to end: the real CLI server on embedded chDB, real profiles from `go test
// -cpuprofile`, @datadog/pprof and the Pyroscope SDK, our agent's upload shape, folded text,
// and bad input that must be refused without harm.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { Location, Profile, Sample } from 'pprof-format';
import { startServer, tempDir, type KilnServer } from './lib/kiln.js';
import { decodePprof, functionShares, goPprofTop, type TopReport } from './lib/pprof.js';
import {
  eventually,
  fixtures,
  flameFunctionTotals,
  getBytes,
  getJson,
  gzipPprof,
  ingest,
  ingestUrl,
  makePprof,
  pathTotal,
  type FlamebearerJson,
} from './lib/server-api.js';

const execFileP = promisify(execFile);
const TIMEOUT = 300_000;
const now = () => Math.floor(Date.now() / 1000);

/** `go test -cpuprofile` of the fixture package (no module downloads). */
async function goCpuProfile(dir: string): Promise<string> {
  const out = join(dir, 'go-cpu.pprof');
  await execFileP(
    'go',
    ['test', '-run', '^$', '-bench', 'Burn', '-benchtime', '2s', '-cpuprofile', out, '-o', join(dir, 'goprof.test'), '.'],
    {
      cwd: join(fixtures, 'goprof'),
      env: {
        ...process.env,
        GOFLAGS: '-mod=mod',
        GOPROXY: 'off',
        GOCACHE: process.env.GOCACHE ?? join(dir, 'gocache'),
        GOPATH: process.env.GOPATH ?? join(dir, 'gopath'),
      },
      timeout: 240_000,
    },
  );
  return out;
}

async function nodeCpuProfile(dir: string): Promise<string> {
  const out = join(dir, 'node-wall.pb.gz');
  await execFileP(process.execPath, [join(fixtures, 'node-burn.mjs'), out, '2000'], { cwd: fixtures, timeout: 60_000 });
  return out;
}

function topRows(report: TopReport): string[] {
  return report.rows.map((r) => `${r.name} flat=${r.flat} cum=${r.cum}`).sort();
}

describe('ingest', () => {
  let server: KilnServer;
  const work = tempDir('kiln-ingest-');
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.stop();
  });

  test('a Go CPU profile (go test -cpuprofile): flame graph totals and pprof export match the original', { timeout: TIMEOUT }, async () => {
    const file = await goCpuProfile(work);
    const original = readFileSync(file);
    const t = now();
    const up = await ingest(server.url, { name: 'goprof{lang=go}', format: 'pprof', from: t, until: t + 2 }, original);
    assert.equal(up.status, 200, JSON.stringify(up.body));

    const decoded = decodePprof(original);
    const shares = functionShares(decoded, { type: 'cpu' });
    const fg = await getJson<FlamebearerJson>(server.url, '/api/v1/flamegraph', {
      query: 'cpu{service="goprof"}',
      from: t - 60,
      until: t + 60,
    });
    assert.equal(fg.status, 200);
    assert.equal(fg.body.flamebearer.numTicks, shares.total, 'numTicks is the profile total');
    assert.equal(fg.body.metadata.units, 'nanoseconds');
    const totals = flameFunctionTotals(fg.body);
    for (const fn of ['goprof.kilnHashLoop', 'goprof.kilnSortLoop']) {
      const want = shares.byName.get(`kiln.test/${fn}`);
      assert.ok(want, `${fn} in the original profile: ${[...shares.byName.keys()].join(', ')}`);
      assert.deepEqual(totals.get(`kiln.test/${fn}`), { flat: want.flat, cum: want.cum }, fn);
    }
    for (const [name, want] of shares.byName) assert.deepEqual(totals.get(name), { flat: want.flat, cum: want.cum }, name);
    // Where each frame comes from (the UI's tooltip): source file, start line and binary of the function.
    const frames = fg.body.metadata.frames;
    const at = fg.body.flamebearer.names.indexOf('kiln.test/goprof.kilnHashLoop');
    const fn = [...decoded.functions.values()].find((f) => f.name === 'kiln.test/goprof.kilnHashLoop')!;
    assert.equal(frames.files[at], join(fixtures, 'goprof/burn_test.go'));
    assert.equal(frames.lines[at], fn.startLine, 'the start line as Go wrote it (0: Go CPU profiles leave it out)');
    assert.equal(frames.binaries[at], 'goprof.test');
    assert.equal(frames.files.length, fg.body.flamebearer.names.length);

    const exported = await getBytes(server.url, '/api/v1/pprof', { query: 'cpu{service="goprof"}', from: t - 60, until: t + 60 });
    assert.equal(exported.status, 200);
    const exportFile = join(work, 'go-export.pb.gz');
    (await import('node:fs')).writeFileSync(exportFile, exported.bytes);
    const [a, b] = await Promise.all([goPprofTop(file, ['-sample_index=cpu']), goPprofTop(exportFile)]);
    assert.deepEqual(topRows(b), topRows(a), 'go tool pprof -top of the export equals the original');
    assert.ok(a.rows.some((r) => r.name.endsWith('kilnHashLoop')));

    // The upload is listed and comes back byte for byte.
    const list = await getJson<{ profiles: { id: string; service: string; profileTypes: string[]; labels: Record<string, string> }[] }>(
      server.url,
      '/api/v1/profiles',
      {
        query: 'cpu{service="goprof"}',
        from: t - 60,
        until: t + 60,
      },
    );
    assert.equal(list.body.profiles.length, 1);
    assert.equal(list.body.profiles[0]!.id, up.body.id);
    assert.deepEqual(list.body.profiles[0]!.labels, { service: 'goprof', lang: 'go' });
    const one = await getBytes(server.url, `/api/v1/profiles/${up.body.id}/pprof`);
    assert.equal(one.status, 200);
    assert.ok(one.bytes.equals(original), 'the stored profile is the uploaded one');
  });

  test('a Node profile made by @datadog/pprof: wall flame graph and export match the original', { timeout: TIMEOUT }, async () => {
    const file = await nodeCpuProfile(work);
    const original = readFileSync(file);
    const t = now();
    // Sent the way older Pyroscope SDKs send it: multipart/form-data with a `profile` field.
    const form = new FormData();
    form.append('profile', new Blob([original]), 'profile.pprof');
    const res = await fetch(ingestUrl(server.url, { name: 'nodeprof', from: t, until: t + 2, spyName: 'nodespy', format: 'pprof' }), {
      method: 'POST',
      body: form,
    });
    assert.equal(res.status, 200, await res.clone().text());

    const decoded = decodePprof(original);
    const shares = functionShares(decoded, { type: 'wall' });
    assert.ok(shares.byName.has('kilnNodeBurn'), [...shares.byName.keys()].join(', '));
    const fg = await getJson<FlamebearerJson>(server.url, '/api/v1/flamegraph', {
      query: 'wall{service="nodeprof"}',
      from: t - 60,
      until: t + 60,
    });
    assert.equal(fg.body.flamebearer.numTicks, shares.total);
    const totals = flameFunctionTotals(fg.body);
    for (const fn of ['kilnNodeBurn', 'kilnNodeHash']) {
      assert.deepEqual(totals.get(fn), { flat: shares.byName.get(fn)!.flat, cum: shares.byName.get(fn)!.cum }, fn);
    }
    const types = await getJson<{ profileTypes: { name: string; units: string }[] }>(server.url, '/api/v1/profile-types', {
      from: t - 60,
      until: t + 60,
    });
    assert.ok(
      types.body.profileTypes.some((p) => p.name === 'wall' && p.units === 'nanoseconds'),
      JSON.stringify(types.body),
    );

    const exported = await getBytes(server.url, '/api/v1/pprof', { query: 'wall{service="nodeprof"}', from: t - 60, until: t + 60 });
    const exportFile = join(work, 'node-export.pb.gz');
    (await import('node:fs')).writeFileSync(exportFile, exported.bytes);
    const [a, b] = await Promise.all([goPprofTop(file, ['-sample_index=wall']), goPprofTop(exportFile)]);
    assert.deepEqual(topRows(b), topRows(a));
  });

  test(
    'the real @pyroscope/nodejs SDK pushes to Kiln unchanged: its function is in the flame graph within 30 s',
    { timeout: TIMEOUT },
    async (t) => {
      const app = spawn(process.execPath, [join(fixtures, 'pyroscope-app.mjs'), server.url, 'pyro-app'], {
        cwd: fixtures,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      app.stdout.on('data', (d: Buffer) => (out += d.toString()));
      app.stderr.on('data', (d: Buffer) => (out += d.toString()));
      t.after(() => app.kill('SIGKILL'));
      const started = Date.now();
      const found = await eventually(
        async () => {
          const fg = await getJson<FlamebearerJson>(server.url, '/api/v1/flamegraph', {
            query: 'cpu{service="pyro-app",region="test-1"}',
            from: 'now-5m',
            until: 'now+1m',
          });
          // The SDK names frames `file:function:line`.
          const fn = [...flameFunctionTotals(fg.body)].find(([name]) => name.includes(':kilnPyroscopeBurn:'))?.[1];
          return fn !== undefined && fn.cum > 0 ? fn : undefined;
        },
        30_000,
        `kilnPyroscopeBurn in cpu{service="pyro-app"} (app output: ${out})`,
      );
      assert.ok(found.cum > 0);
      assert.ok(Date.now() - started < 30_000);
      const wall = await getJson<FlamebearerJson>(server.url, '/api/v1/flamegraph', {
        query: 'wall{service="pyro-app"}',
        from: 'now-5m',
        until: 'now+1m',
      });
      assert.ok(
        [...flameFunctionTotals(wall.body).keys()].some((n) => n.includes(':kilnPyroscopeBurn:')),
        'also in the wall-clock profile',
      );
    },
  );

  test("our agent's uploads: sample labels make one series per process, service from the sample", { timeout: TIMEOUT }, async () => {
    const t = now();
    const period = 52_631_578;
    const proc = (service: string, pid: string) => ({
      service,
      version: 'v1',
      node: 'node-a',
      pid,
      comm: service,
      exe: `/usr/bin/${service}`,
    });
    const p = makePprof(
      [
        ['cpu', 'nanoseconds'],
        ['samples', 'count'],
      ],
      [
        { stack: ['main', 'serve', 'handle'], values: [3 * period, 3], labels: proc('web', '100') },
        { stack: ['main', 'serve'], values: [1 * period, 1], labels: proc('web', '100') },
        { stack: ['main', 'work'], values: [5 * period, 5], labels: proc('batch', '200') },
        { stack: ['[unknown] batch+0x1f'], values: [2 * period, 2], labels: { ...proc('batch', '200'), container_id: 'abc' } },
      ],
      { timeMs: t * 1000 },
    );
    // The agent gzips the pprof and also says Content-Encoding: gzip.
    const body = gzipSync(gzipPprof(p));
    const up = await ingest(server.url, { name: 'kiln-agent', format: 'pprof', spyName: 'kiln-agent', from: t, until: t + 10 }, body, {
      'content-encoding': 'gzip',
    });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    const range = { from: t - 60, until: t + 60 };
    const web = await getJson<FlamebearerJson>(server.url, '/api/v1/flamegraph', { query: 'cpu{service="web"}', ...range });
    assert.equal(web.body.flamebearer.numTicks, 4 * period);
    assert.equal(pathTotal(web.body, ['main', 'serve', 'handle']), 3 * period);
    const batch = await getJson<FlamebearerJson>(server.url, '/api/v1/flamegraph', { query: 'cpu{service="batch",pid="200"}', ...range });
    assert.equal(batch.body.flamebearer.numTicks, 7 * period);
    assert.equal(pathTotal(batch.body, ['[unknown] batch+0x1f']), 2 * period);
    const samples = await getJson<FlamebearerJson>(server.url, '/api/v1/flamegraph', { query: 'samples{node="node-a"}', ...range });
    assert.equal(samples.body.flamebearer.numTicks, 11);
    assert.equal(samples.body.metadata.units, 'samples');
    const services = await getJson<{ values: string[] }>(server.url, '/api/v1/labels/service/values', {
      query: 'cpu{node="node-a"}',
      ...range,
    });
    assert.deepEqual(services.body.values, ['batch', 'web']);
    const containers = await getJson<{ values: string[] }>(server.url, '/api/v1/labels/container_id/values', range);
    assert.deepEqual(containers.body.values, ['abc']);
  });

  test('folded text: counts become cpu nanoseconds at sampleRate; gzip and Content-Encoding accepted', { timeout: TIMEOUT }, async () => {
    const t = now();
    const text = 'main;a;b 10\nmain;a 5\nmain;c 3\n\n';
    const plain = await ingest(server.url, { name: 'folded-app{env=prod}', format: 'folded', from: t, until: t + 10 }, text, {
      'content-type': 'text/plain',
    });
    assert.equal(plain.status, 200, JSON.stringify(plain.body));
    const zipped = await ingest(
      server.url,
      { name: 'folded-app{env=staging}', format: 'folded', from: t, until: t + 10, sampleRate: 50 },
      gzipSync(text),
      {
        'content-encoding': 'gzip',
      },
    );
    assert.equal(zipped.status, 200, JSON.stringify(zipped.body));
    const range = { from: t - 60, until: t + 60 };
    const prod = await getJson<FlamebearerJson>(server.url, '/api/v1/flamegraph', { query: '{service="folded-app",env="prod"}', ...range });
    assert.equal(prod.body.flamebearer.numTicks, 18 * 10_000_000);
    assert.equal(pathTotal(prod.body, ['main', 'a']), 15 * 10_000_000);
    assert.equal(pathTotal(prod.body, ['main', 'a', 'b']), 10 * 10_000_000);
    const staging = await getJson<FlamebearerJson>(server.url, '/api/v1/flamegraph', { query: '{env="staging"}', ...range });
    assert.equal(staging.body.flamebearer.numTicks, 18 * 20_000_000);
    const pprof = await getBytes(server.url, `/api/v1/profiles/${plain.body.id}/pprof`);
    assert.equal(pprof.status, 200);
    const back = decodePprof(pprof.bytes);
    assert.equal(functionShares(back, { type: 'cpu' }).total, 18 * 10_000_000);
  });

  test(
    'uploads stored as received keep every byte: one ending in a carriage return, and the uploads beside it in the same insert',
    { timeout: TIMEOUT },
    async () => {
      const t = now();
      // A raw (not gzipped) pprof whose last byte is 0x0D: `period` (field 12) = 13 appended last.
      const encoded = Buffer.from(makePprof([['cpu', 'nanoseconds']], [{ stack: ['cr_main', 'cr_leaf'], values: [13] }]).encode());
      const endsInCr = Buffer.concat([encoded, Buffer.from([0x60, 0x0d])]);
      const others = Array.from({ length: 4 }, (_, i) =>
        gzipPprof(makePprof([['cpu', 'nanoseconds']], [{ stack: ['cr_main', `beside_${i}`], values: [100 + i] }])),
      );
      // Sent together, so they share the inserts of sample rows and of raw uploads.
      const answers = await Promise.all([
        ingest(server.url, { name: 'cr-ending', format: 'pprof', from: t }, endsInCr),
        ...others.map((body) => ingest(server.url, { name: 'cr-ending', format: 'pprof', from: t }, body)),
      ]);
      for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.body));
      for (const [i, body] of [endsInCr, ...others].entries()) {
        const back = await getBytes(server.url, `/api/v1/profiles/${answers[i]!.body.id}/pprof`);
        assert.equal(back.status, 200);
        assert.ok(back.bytes.equals(body), `upload ${i} comes back byte for byte`);
      }
      const graph = await getJson<FlamebearerJson>(server.url, '/api/v1/flamegraph', {
        query: '{service="cr-ending"}',
        from: t - 60,
        until: t + 60,
      });
      assert.equal(graph.body.flamebearer.numTicks, 13 + 100 + 101 + 102 + 103);
    },
  );

  test('bad input is refused with a clear 4xx; nothing else is lost and the server still answers', { timeout: TIMEOUT }, async () => {
    const t = now();
    const good = await ingest(server.url, { name: 'keep-me', format: 'folded', from: t }, 'x;y 7\n');
    assert.equal(good.status, 200);
    const range = { query: '{service="keep-me"}', from: t - 60, until: t + 60 };
    const before = await getJson<FlamebearerJson>(server.url, '/api/v1/flamegraph', range);
    assert.equal(before.body.flamebearer.numTicks, 7 * 10_000_000);

    const valid = gzipPprof(makePprof([['cpu', 'nanoseconds']], [{ stack: ['a', 'b'], values: [10] }]));
    const cases: [string, Promise<{ status: number; body: { error?: string } }>, RegExp][] = [
      ['truncated gzip', ingest(server.url, { name: 'bad', format: 'pprof' }, valid.subarray(0, valid.length - 10)), /gzip/],
      [
        'random bytes',
        ingest(server.url, { name: 'bad', format: 'pprof' }, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) & 0xff))),
        /pprof/,
      ],
      [
        'random bytes as gzip',
        ingest(server.url, { name: 'bad', format: 'pprof' }, Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(100, 7)])),
        /gzip/,
      ],
      ['out-of-range location', ingest(server.url, { name: 'bad', format: 'pprof' }, gzipPprof(withBadLocation())), /location 99/],
      ['out-of-range string', ingest(server.url, { name: 'bad', format: 'pprof' }, gzipPprof(withBadString())), /string table/],
      ['10,000 labels', ingest(server.url, { name: 'bad', format: 'pprof' }, gzipPprof(manyLabels(10_000))), /labels/],
      ['bad folded line', ingest(server.url, { name: 'bad', format: 'folded' }, 'a;b notanumber\n'), /folded line 1/],
      ['empty body', ingest(server.url, { name: 'bad', format: 'folded' }, ''), /empty/],
      [
        'no name',
        fetch(`${server.url}/ingest?format=folded`, { method: 'POST', body: 'a 1' }).then(async (r) => ({
          status: r.status,
          body: (await r.json()) as { error?: string },
        })),
        /name/,
      ],
      ['bad name', ingest(server.url, { name: 'app{env=prod', format: 'folded' }, 'a 1'), /name/],
      ['unknown format', ingest(server.url, { name: 'bad', format: 'jfr' }, 'a 1'), /format/],
      ['bad time', ingest(server.url, { name: 'bad', format: 'folded', from: 'yesterday' }, 'a 1'), /from/],
      // Times storage cannot hold are the client's mistake, not a failed insert (a 503 it would retry).
      ['time 1', ingest(server.url, { name: 'bad', format: 'folded', from: '1' }, 'a 1'), /outside 2000-01-01/],
      ['time after 2105', ingest(server.url, { name: 'bad', format: 'folded', from: '99999999999999' }, 'a 1'), /outside 2000-01-01/],
      ['count beyond 64 bits', ingest(server.url, { name: 'bad', format: 'folded' }, 'a;b 1e30\n'), /64-bit/],
      [
        'pprof timeNanos 1',
        ingest(
          server.url,
          { name: 'bad', format: 'pprof' },
          gzipPprof(makePprof([['cpu', 'nanoseconds']], [{ stack: ['a'], values: [1] }], { timeMs: 1 })),
        ),
        /start \(from\)/,
      ],
    ];
    for (const [what, answer, message] of cases) {
      const r = await answer;
      assert.ok(r.status >= 400 && r.status < 500, `${what}: status ${r.status} ${JSON.stringify(r.body)}`);
      assert.match(r.body.error ?? '', message, what);
    }

    // 100 MB: refused as too large (413) from its Content-Length, before it is read.
    const big = await postLarge(`${server.url}/ingest?name=bad&format=pprof`, 100 * 1024 * 1024);
    assert.equal(big.status, 413, big.body);
    assert.match(big.body, /limit/);

    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
    const afterwards = await getJson<FlamebearerJson>(server.url, '/api/v1/flamegraph', range);
    assert.deepEqual(afterwards.body.flamebearer, before.body.flamebearer);
    const bad = await getJson<FlamebearerJson>(server.url, '/api/v1/flamegraph', {
      query: '{service="bad"}',
      from: t - 3600,
      until: t + 3600,
    });
    assert.equal(bad.body.flamebearer.numTicks, 0, 'nothing of the refused uploads was stored');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /kiln_ingest_rejected_total\{reason="bad_gzip"\} [1-9]/);
    assert.match(metrics, /kiln_ingest_rejected_total\{reason="too_large"\} 1/);
    assert.match(metrics, /kiln_ingest_profiles_total\{format="folded"\} [1-9]/);
    assert.match(metrics, /kiln_ingest_insert_duration_seconds_count\{result="ok"\} [1-9]/);
  });
});

test('restart: everything ingested before a restart is there after it (embedded storage)', { timeout: TIMEOUT }, async () => {
  const dataDir = tempDir('kiln-data-');
  const first = await startServer({ dataDir });
  const t = now();
  const up = await ingest(first.url, { name: 'durable{k=v}', format: 'folded', from: t }, 'main;work 42\nmain 8\n');
  assert.equal(up.status, 200);
  const range = { query: '{service="durable",k="v"}', from: t - 60, until: t + 60 };
  const before = await getJson<FlamebearerJson>(first.url, '/api/v1/flamegraph', range);
  assert.equal(await first.stop(), 0);
  const second = await startServer({ dataDir });
  try {
    const afterwards = await getJson<FlamebearerJson>(second.url, '/api/v1/flamegraph', range);
    assert.deepEqual(afterwards.body, before.body);
    assert.equal(afterwards.body.flamebearer.numTicks, 50 * 10_000_000);
    const labels = await getJson<{ names: string[] }>(second.url, '/api/v1/labels', { from: t - 60, until: t + 60 });
    assert.deepEqual(labels.body.names, ['k', 'service']);
    const one = await getBytes(second.url, `/api/v1/profiles/${up.body.id}/pprof`);
    assert.equal(one.status, 200);
  } finally {
    await second.stop();
  }
});

test(
  'limits from the server flags: 429 with Retry-After over the ingest rate, 413 over the body size, concurrent uploads batched',
  { timeout: TIMEOUT },
  async (t) => {
    const server = await startServer({ args: ['--ingest-rate-limit', '20000', '--ingest-max-body', '200000', '--ingest-max-labels', '4'] });
    t.after(() => server.stop());
    const ts = now();
    const body = 'a;b;c 1\n'.repeat(2000); // 16 kB
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => ingest(server.url, { name: 'busy', format: 'folded', from: ts }, body)),
    );
    const ok = answers.filter((a) => a.status === 200).length;
    const limited = answers.filter((a) => a.status === 429);
    assert.ok(ok >= 1 && limited.length >= 1, `statuses: ${answers.map((a) => a.status).join(',')}`);
    assert.ok(Number(limited[0]!.headers.get('retry-after')) >= 1);
    assert.match(limited[0]!.body.error ?? '', /rate limit/);
    const fg = await getJson<FlamebearerJson>(server.url, '/api/v1/flamegraph', {
      query: '{service="busy"}',
      from: ts - 60,
      until: ts + 60,
    });
    assert.equal(fg.body.flamebearer.numTicks, ok * 2000 * 10_000_000, 'every 200 was stored, nothing else');
    const tooBig = await ingest(server.url, { name: 'busy', format: 'folded' }, 'a 1\n'.repeat(60_000));
    assert.equal(tooBig.status, 413);
    const labels = await ingest(server.url, { name: 'busy{a=1,b=2,c=3,d=4}', format: 'folded' }, 'a 1\n');
    assert.equal(labels.status, 400);
    assert.match(labels.body.error ?? '', /5 labels, over the limit of 4/);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /kiln_ingest_rejected_total\{reason="rate_limited"\} [1-9]/);
    const batches = /kiln_ingest_batch_uploads_count (\d+)/.exec(metrics);
    assert.ok(
      batches && Number(batches[1]) <= ok,
      `uploads coalesced into at most as many batches (${batches?.[1]} batches for ${ok} uploads)`,
    );
  },
);

function withBadLocation(): Profile {
  const p = makePprof([['cpu', 'nanoseconds']], [{ stack: ['a'], values: [1] }]);
  p.sample.push(new Sample({ locationId: [99], value: [5] }));
  return p;
}

function withBadString(): Profile {
  const p = makePprof([['cpu', 'nanoseconds']], [{ stack: ['a'], values: [1] }]);
  p.function[0]!.name = 100_000;
  p.location.push(new Location({ id: 50, line: [] }));
  return p;
}

function manyLabels(n: number): Profile {
  const labels: Record<string, string> = {};
  for (let i = 0; i < n; i++) labels[`l${i}`] = `v${i}`;
  return makePprof([['cpu', 'nanoseconds']], [{ stack: ['a'], values: [1], labels }]);
}

/** POSTs `size` bytes in chunks; resolves with the answer even when the server stops reading early. */
function postLarge(url: string, size: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) } },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    const chunk = Buffer.alloc(1024 * 1024, 0x41);
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}
