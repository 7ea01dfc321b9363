// Flame graph rendering benchmark (a script, not a test):
//   npx tsx test/bench/web-flamegraph.ts [--nodes 100000] [--depth 200] [--dpr 1] [--runs 5]
//
// A synthetic flamebearer of N nodes and D levels, in headless Chromium (/usr/bin/chromium):
// - Kiln: time from data arrival (the JSON text in the page) to first paint — parse, decode to
//   typed arrays, layout, canvas draw, then the browser's paint — and the frame time of zooming
//   (60 frames easing the viewport from the root to a deep frame) and panning (60 frames of
//   vertical scrolling through the 200 levels).
// - Baseline: the same data drawn by d3-flame-graph (npm, SVG) in the same browser run, from its
//   own nested JSON (converting our format to it is not counted against it), transitions off,
//   minFrameSize 1 px; first paint and click-to-zoom time.
// Targets (issue 5): first paint ≤ 150 ms, zoom/pan frames ≤ 16 ms, ≥ 5× faster first paint
// than d3-flame-graph.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { TreeBuilder, encodeFlamebearer, type FlameTree } from '../../web/src/lib/flamegraph/index';

const here = dirname(fileURLToPath(import.meta.url));
const webLib = resolve(here, '../../web/src/lib/flamegraph');
const require = createRequire(import.meta.url);

const { values: args } = parseArgs({
  options: {
    nodes: { type: 'string', default: '100000' },
    depth: { type: 'string', default: '200' },
    dpr: { type: 'string', default: '1' },
    runs: { type: 'string', default: '5' },
  },
});
const NODES = Number(args.nodes);
const DEPTH = Number(args.depth);
const DPR = Number(args.dpr);
const RUNS = Number(args.runs);
const WIDTH = 1200;
const HEIGHT = 800;

// ---- Synthetic data: deterministic, mixed frame kinds, a long spine to reach DEPTH.

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function syntheticTree(nodes: number, depth: number): FlameTree {
  const rand = rng(42);
  const pool: string[] = [];
  for (let i = 0; i < 6000; i++) {
    switch (i % 5) {
      case 0:
        pool.push(`app::module${i % 97}::handler_${i}(Request&)`);
        break;
      case 1:
        pool.push(`JS:*process_${i} /srv/app/lib/file${i % 300}.js:${i % 500}:7`);
        break;
      case 2:
        pool.push(`Builtins_Runtime_${i}`);
        break;
      case 3:
        pool.push(`do_sys_${i} [kernel.kallsyms]`);
        break;
      default:
        pool.push(`github.com/acme/svc${i % 40}.(*T).Method${i}`);
    }
  }
  const b = new TreeBuilder('single');
  // parents[i] = builder node, depths[i] = its depth; grow until `nodes` distinct nodes exist.
  const parents: number[] = [0];
  const depths: number[] = [0];
  let created = 1;
  // A spine to the full depth.
  let spine = 0;
  for (let d = 1; d < depth; d++) {
    spine = b.child(spine, b.intern(pool[(d * 7) % pool.length]!));
    parents.push(spine);
    depths.push(d);
    created++;
  }
  while (created < nodes) {
    // Prefer recent nodes (deep, bushy subtrees) but keep some breadth.
    const k = rand() < 0.7 ? parents.length - 1 - Math.floor(rand() * Math.min(parents.length, 64)) : Math.floor(rand() * parents.length);
    const p = parents[k]!;
    if (depths[k]! >= depth - 1) continue;
    const c = b.child(p, b.intern(pool[Math.floor(rand() * pool.length)]!));
    // child() returns the existing node for a repeated name: count only new ones.
    if (c === created) {
      parents.push(c);
      depths.push(depths[k]! + 1);
      created++;
    }
  }
  // Values: every node gets some self time, added along its path.
  const tree0 = b.finish();
  const b2 = new TreeBuilder('single');
  const path: string[] = [];
  for (let i = 1; i < tree0.count; i++) {
    path.length = tree0.depth[i]! - 1;
    path.push(tree0.names[tree0.name[i]!]!);
    b2.addStack(path, 1 + Math.floor(rand() * 50));
  }
  return b2.finish();
}

interface D3Node {
  name: string;
  value: number;
  children: D3Node[];
}

function toD3(t: FlameTree): D3Node {
  const nodes = new Array<D3Node>(t.count);
  for (let i = 0; i < t.count; i++) {
    nodes[i] = { name: t.names[t.name[i]!]!, value: t.total[i]!, children: [] };
    const p = t.parent[i]!;
    if (p >= 0) nodes[p]!.children.push(nodes[i]!);
  }
  return nodes[0]!;
}

// ---- Browser bundles.

async function bundle(contents: string, resolveDir: string): Promise<string> {
  const out = await build({
    stdin: { contents, resolveDir, loader: 'ts' },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    minify: true,
    write: false,
    // d3-flame-graph imports its stylesheet; the page gets it as a <style> instead.
    loader: { '.css': 'empty' },
    logLevel: 'warning',
  });
  return out.outputFiles[0]!.text;
}

const kilnEntry = `
import { decodeFlamebearer, singleModel } from './index';
import { FlameRenderer, ROW_HEIGHT } from './render';
const w = window as unknown as Record<string, unknown>;
const frame = () => new Promise<number>((r) => requestAnimationFrame(() => setTimeout(() => r(performance.now()), 0)));
w.kilnBench = {
  async firstPaint(text: string, width: number, height: number, dpr: number) {
    const host = document.getElementById('host')!;
    host.innerHTML = '';
    const canvas = document.createElement('canvas');
    host.appendChild(canvas);
    const t0 = performance.now();
    const tree = decodeFlamebearer(JSON.parse(text));
    const t1 = performance.now();
    const model = singleModel(tree);
    const r = new FlameRenderer(canvas);
    r.resize(width, height, dpr);
    const full = tree.depthCount * ROW_HEIGHT;
    const state = { x0: 0, x1: model.weight[0]!, scrollTop: Math.max(0, full - height), orientation: 'flame' as const, nameMatch: null, selected: -1, hovered: -1 };
    r.draw(model, state);
    const t2 = performance.now();
    const painted = await frame();
    w.kilnState = { tree, model, r, state, full, height };
    return { decodeMs: t1 - t0, drawMs: t2 - t1, firstPaintMs: painted - t0, nodes: tree.count, depth: tree.depthCount, rects: r.rects.count };
  },
  async zoomPan(frames: number) {
    const { tree, model, r, state, full, height } = w.kilnState as any;
    // Deepest node on the spine: zoom target.
    let target = 0;
    for (let i = 0; i < tree.count; i++) if (tree.depth[i] > tree.depth[target]) target = i;
    for (let k = 0; k < 40 && tree.parent[target] > 0; k++) target = tree.parent[target];
    const zx0 = model.start[target], zx1 = zx0 + model.weight[target], X1 = model.weight[0];
    const draw: number[] = [];
    const intervals: number[] = [];
    let last = performance.now();
    const step = async (s: typeof state) => {
      await new Promise((res) => requestAnimationFrame(() => {
        const a = performance.now();
        r.draw(model, s);
        draw.push(performance.now() - a);
        res(null);
      }));
      const now = performance.now();
      intervals.push(now - last);
      last = now;
    };
    for (let f = 1; f <= frames; f++) {
      const e = 1 - Math.pow(1 - f / frames, 3);
      await step({ ...state, x0: zx0 * e, x1: X1 + (zx1 - X1) * e });
    }
    const zoomDraw = draw.splice(0);
    const zoomIntervals = intervals.splice(0);
    for (let f = 1; f <= frames; f++) {
      await step({ ...state, scrollTop: Math.max(0, (full - height) * (1 - f / frames)) });
    }
    return { zoomDraw, zoomIntervals, panDraw: draw, panIntervals: intervals };
  },
};
`;

const d3Entry = `
import { select } from 'd3-selection';
import flamegraph from 'd3-flame-graph';
const w = window as unknown as Record<string, unknown>;
const frame = () => new Promise<number>((r) => requestAnimationFrame(() => setTimeout(() => r(performance.now()), 0)));
w.d3Bench = {
  async firstPaint(text: string, width: number) {
    const host = document.getElementById('host')!;
    host.innerHTML = '';
    const t0 = performance.now();
    const data = JSON.parse(text);
    const chart = (flamegraph() as any).width(width).cellHeight(18).transitionDuration(0).minFrameSize(1).sort(false);
    select(host).datum(data).call(chart);
    const t1 = performance.now();
    const painted = await frame();
    w.d3State = { chart, data };
    return { buildMs: t1 - t0, firstPaintMs: painted - t0, svgNodes: host.querySelectorAll('g').length };
  },
  async zoom(times: number) {
    const { chart } = w.d3State as any;
    const out: number[] = [];
    const host = document.getElementById('host')!;
    const gs = Array.from(host.querySelectorAll('g')).filter((g: any) => g.__data__ && g.__data__.depth > 3 && g.__data__.depth < 30);
    for (let k = 0; k < times && gs.length > 0; k++) {
      const node = (gs[(k * 7919) % gs.length] as any).__data__;
      const t0 = performance.now();
      chart.zoomTo(node);
      const painted = await frame();
      out.push(painted - t0);
      chart.resetZoom();
      await frame();
    }
    return out;
  },
};
`;

function stats(xs: number[]): { p50: number; p95: number; max: number; mean: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))] ?? NaN;
  return { p50: q(0.5), p95: q(0.95), max: s[s.length - 1] ?? NaN, mean: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length) };
}

const ms = (x: number): string => `${x.toFixed(1)} ms`;

async function main(): Promise<void> {
  const t0 = Date.now();
  const tree = syntheticTree(NODES, DEPTH);
  const fbText = JSON.stringify(encodeFlamebearer(tree));
  const d3Text = JSON.stringify(toD3(tree));
  process.stdout.write(
    `data: ${tree.count.toLocaleString('en-US')} nodes, ${tree.depthCount} levels, ${tree.names.length.toLocaleString('en-US')} names; flamebearer JSON ${(fbText.length / 1e6).toFixed(1)} MB, d3 JSON ${(d3Text.length / 1e6).toFixed(1)} MB (made in ${Date.now() - t0} ms)\n`,
  );

  const kilnJs = await bundle(kilnEntry, webLib);
  const d3Js = await bundle(d3Entry, here);
  const d3Css = readFileSync(join(dirname(require.resolve('d3-flame-graph')), 'd3-flamegraph.css'), 'utf8');

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-timer-throttling'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: WIDTH + 40, height: HEIGHT + 40 }, deviceScaleFactor: DPR });
    await page.setContent(
      `<!doctype html><html><head><style>${d3Css} body{margin:0;font-family:sans-serif}</style></head><body><div id="host" style="width:${WIDTH}px"></div></body></html>`,
    );
    await page.addScriptTag({ content: kilnJs });
    await page.addScriptTag({ content: d3Js });

    const kiln: { decodeMs: number; drawMs: number; firstPaintMs: number; nodes: number; depth: number; rects: number }[] = [];
    for (let i = 0; i < RUNS; i++) {
      kiln.push(
        await page.evaluate(
          ([t, w, h, d]) =>
            (
              window as unknown as { kilnBench: { firstPaint(t: string, w: number, h: number, d: number): Promise<(typeof kiln)[number]> } }
            ).kilnBench.firstPaint(t, w, h, d),
          [fbText, WIDTH, HEIGHT, DPR] as const,
        ),
      );
    }
    const zp = await page.evaluate(
      (f) =>
        (
          window as unknown as {
            kilnBench: {
              zoomPan(f: number): Promise<{ zoomDraw: number[]; zoomIntervals: number[]; panDraw: number[]; panIntervals: number[] }>;
            };
          }
        ).kilnBench.zoomPan(f),
      60,
    );

    const d3: { buildMs: number; firstPaintMs: number; svgNodes: number }[] = [];
    const d3Runs = Math.max(1, Math.min(RUNS, 3));
    for (let i = 0; i < d3Runs; i++) {
      d3.push(
        await page.evaluate(
          ([t, w]) =>
            (window as unknown as { d3Bench: { firstPaint(t: string, w: number): Promise<(typeof d3)[number]> } }).d3Bench.firstPaint(t, w),
          [d3Text, WIDTH] as const,
        ),
      );
    }
    const d3Zoom = await page.evaluate(
      (n) => (window as unknown as { d3Bench: { zoom(n: number): Promise<number[]> } }).d3Bench.zoom(n),
      5,
    );

    // The first run pays for JIT warm-up; report the median and the cold first run.
    const kFirst = stats(kiln.map((k) => k.firstPaintMs));
    const dFirst = stats(d3.map((k) => k.firstPaintMs));
    const zoomDraw = stats(zp.zoomDraw);
    const panDraw = stats(zp.panDraw);
    const zoomInt = stats(zp.zoomIntervals);
    const panInt = stats(zp.panIntervals);
    const d3z = stats(d3Zoom);
    const ratio = dFirst.p50 / kFirst.p50;
    const out = [
      `Kiln canvas (dpr ${DPR}, ${WIDTH}×${HEIGHT} CSS px), ${RUNS} runs:`,
      `  data arrival → first paint: median ${ms(kFirst.p50)} (cold first run ${ms(kiln[0]!.firstPaintMs)}: decode ${ms(kiln[0]!.decodeMs)}, layout+draw ${ms(kiln[0]!.drawMs)}); of which decode ${ms(stats(kiln.map((k) => k.decodeMs)).p50)}, layout+draw ${ms(stats(kiln.map((k) => k.drawMs)).p50)}; ${kiln[0]!.rects} rectangles drawn`,
      `  zoom (60 frames): draw p50 ${ms(zoomDraw.p50)}, p95 ${ms(zoomDraw.p95)}, max ${ms(zoomDraw.max)}; frame interval p50 ${ms(zoomInt.p50)}, p95 ${ms(zoomInt.p95)}`,
      `  pan  (60 frames): draw p50 ${ms(panDraw.p50)}, p95 ${ms(panDraw.p95)}, max ${ms(panDraw.max)}; frame interval p50 ${ms(panInt.p50)}, p95 ${ms(panInt.p95)}`,
      `d3-flame-graph 5 (SVG, minFrameSize 1, no transitions), ${d3Runs} runs:`,
      `  data arrival → first paint: median ${ms(dFirst.p50)} (cold first run ${ms(d3[0]!.firstPaintMs)}); ${d3[0]!.svgNodes.toLocaleString('en-US')} SVG groups`,
      `  click-to-zoom → paint: p50 ${ms(d3z.p50)}, max ${ms(d3z.max)} (${d3Zoom.length} zooms)`,
      `ratio: Kiln first paint is ${ratio.toFixed(1)}× faster than d3-flame-graph (median vs median)`,
      `targets: first paint ≤ 150 ms ${kFirst.p50 <= 150 ? 'PASS' : 'FAIL'} · zoom/pan draw p95 ≤ 16 ms ${Math.max(zoomDraw.p95, panDraw.p95) <= 16 ? 'PASS' : 'FAIL'} · ≥ 5× d3 ${ratio >= 5 ? 'PASS' : 'FAIL'}`,
    ];
    process.stdout.write(out.join('\n') + '\n');
    process.stdout.write(
      JSON.stringify({
        nodes: tree.count,
        depth: tree.depthCount,
        kilnFirstPaintMs: kFirst.p50,
        kilnColdFirstPaintMs: kiln[0]!.firstPaintMs,
        zoomDrawP95Ms: zoomDraw.p95,
        panDrawP95Ms: panDraw.p95,
        d3FirstPaintMs: dFirst.p50,
        d3ZoomMs: d3z.p50,
        ratio,
      }) + '\n',
    );
  } finally {
    await browser.close();
  }
}

await main();
