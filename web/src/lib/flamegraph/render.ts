// Canvas renderer: one fixed-size canvas (the visible part of the graph, never the whole depth),
// drawn in device pixels so it stays crisp at any devicePixelRatio, one fillStyle per colour
// bucket, text in a second pass. No Svelte here: the component wires events and state to it, and
// the benchmark drives it directly.
import { RectList, layoutViewport } from './layout';
import type { FlameModel } from './model';

export const ROW_HEIGHT = 18;
const FONT_PX = 11.5;
const TEXT_PAD = 3;

export type Orientation = 'flame' | 'icicle';

export interface DrawState {
  /** Visible x range, weight units. */
  x0: number;
  x1: number;
  /** Vertical scroll of the graph's full height, CSS px. */
  scrollTop: number;
  orientation: Orientation;
  /** Per-name search match, or null without a search. */
  nameMatch: Uint8Array | null;
  /** Outlined node (the focused one), or -1. */
  selected: number;
  /** Outlined node under the pointer, or -1. */
  hovered: number;
}

/** Full height of a tree's graph in CSS px. */
export function graphHeight(depthCount: number): number {
  return depthCount * ROW_HEIGHT;
}

export class FlameRenderer {
  readonly canvas: HTMLCanvasElement;
  readonly #ctx: CanvasRenderingContext2D;
  readonly rects = new RectList();
  #cssWidth = 0;
  #cssHeight = 0;
  #dpr = 1;
  #charWidth = 7;
  #hatch: CanvasPattern | null = null;
  #bucketStart = new Int32Array(0);
  #order = new Int32Array(0);
  #rectBucket = new Int32Array(0);
  /** Depth of the first row and rows visible in the last draw (for hit tests). */
  #depthCount = 0;
  #orientation: Orientation = 'flame';
  #scrollTop = 0;

  constructor(canvas: HTMLCanvasElement) {
    this.canvas = canvas;
    const ctx = canvas.getContext('2d', { alpha: false });
    if (ctx === null) throw new Error('canvas 2D context unavailable');
    this.#ctx = ctx;
  }

  get width(): number {
    return this.#cssWidth;
  }

  get height(): number {
    return this.#cssHeight;
  }

  /** Sets the canvas's CSS size and backing store for `dpr`; returns true when it changed. */
  resize(cssWidth: number, cssHeight: number, dpr: number): boolean {
    const w = Math.max(1, Math.floor(cssWidth));
    const h = Math.max(1, Math.floor(cssHeight));
    if (w === this.#cssWidth && h === this.#cssHeight && dpr === this.#dpr) return false;
    this.#cssWidth = w;
    this.#cssHeight = h;
    this.#dpr = dpr;
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(h * dpr);
    this.canvas.style.width = `${w}px`;
    this.canvas.style.height = `${h}px`;
    this.#ctx.font = this.#font();
    this.#charWidth = this.#ctx.measureText('mmmmmmmmmm').width / 10 / dpr;
    return true;
  }

  #font(): string {
    return `${FONT_PX * this.#dpr}px ui-monospace, SFMono-Regular, Menlo, Consolas, 'Liberation Mono', monospace`;
  }

  /** y (CSS px in the canvas) of the top of `depth`'s row. */
  rowTop(depth: number): number {
    const r = this.#orientation === 'flame' ? this.#depthCount - 1 - depth : depth;
    return r * ROW_HEIGHT - this.#scrollTop;
  }

  /** Depth of the row at canvas y (CSS px), or -1. */
  depthAt(y: number): number {
    const r = Math.floor((y + this.#scrollTop) / ROW_HEIGHT);
    const d = this.#orientation === 'flame' ? this.#depthCount - 1 - r : r;
    return d >= 0 && d < this.#depthCount ? d : -1;
  }

  /** Rectangle index (into {@link rects}) at canvas (x, y) CSS px, or -1. */
  hit(x: number, y: number): number {
    const d = this.depthAt(y);
    return d < 0 ? -1 : this.rects.hit(x, d);
  }

  draw(model: FlameModel, state: DrawState): RectList {
    const ctx = this.#ctx;
    const dpr = this.#dpr;
    const W = this.#cssWidth;
    const H = this.#cssHeight;
    const tree = model.tree;
    this.#depthCount = tree.depthCount;
    this.#orientation = state.orientation;
    this.#scrollTop = state.scrollTop;

    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    if (tree.count === 0) return this.rects;

    // Visible rows → visible depths.
    const r0 = Math.max(0, Math.floor(state.scrollTop / ROW_HEIGHT));
    const r1 = Math.min(tree.depthCount - 1, Math.floor((state.scrollTop + H - 1) / ROW_HEIGHT));
    const flame = state.orientation === 'flame';
    const depth0 = flame ? tree.depthCount - 1 - r1 : r0;
    const depth1 = flame ? tree.depthCount - 1 - r0 : r1;
    const rects = layoutViewport(tree, model.start, model.weight, { x0: state.x0, x1: state.x1, width: W, depth0, depth1 }, this.rects, {
      nameMatch: state.nameMatch,
    });
    const n = rects.count;

    // Bucket every rectangle, then counting-sort them by bucket: one fillStyle per bucket.
    const palette = model.palette;
    const buckets = palette.fill.length;
    if (this.#bucketStart.length < buckets + 1) this.#bucketStart = new Int32Array(buckets + 1);
    if (this.#order.length < n) {
      this.#order = new Int32Array(rects.x.length);
      this.#rectBucket = new Int32Array(rects.x.length);
    }
    const start = this.#bucketStart.fill(0);
    const rb = this.#rectBucket;
    const match = state.nameMatch;
    for (let k = 0; k < n; k++) {
      const node = rects.node[k]!;
      let b: number;
      if (node >= 0) {
        b = model.bucketOf(node);
        if (match !== null && match[tree.name[node]!] !== 1) b += model.dimOffset;
      } else {
        b = model.mergedBucket;
        if (match !== null && rects.mergedMatch[-1 - node] !== 1) b += model.dimOffset;
      }
      rb[k] = b;
      start[b + 1]!++;
    }
    for (let b = 0; b < buckets; b++) start[b + 1]! += start[b]!;
    const order = this.#order;
    const cursor = start.slice(0, buckets);
    for (let k = 0; k < n; k++) order[cursor[rb[k]!]!++] = k;

    const rowH = ROW_HEIGHT * dpr;
    const yOf = (depth: number): number => Math.round(((flame ? tree.depthCount - 1 - depth : depth) * ROW_HEIGHT - state.scrollTop) * dpr);
    for (let b = 0; b < buckets; b++) {
      const from = start[b]!;
      const to = start[b + 1]!;
      if (from === to) continue;
      ctx.fillStyle = palette.fill[b]!;
      for (let j = from; j < to; j++) {
        const k = order[j]!;
        const x = Math.round(rects.x[k]! * dpr);
        const xe = Math.round((rects.x[k]! + rects.w[k]!) * dpr);
        // 1 device px gap between neighbours when there is room for it.
        const w = Math.max(1, xe - x - (xe - x > 3 ? dpr : 0));
        ctx.fillRect(x, yOf(rects.depth[k]!), w, rowH - dpr);
      }
      if (palette.hatched[b] === true) {
        ctx.fillStyle = this.#hatchPattern();
        for (let j = from; j < to; j++) {
          const k = order[j]!;
          const x = Math.round(rects.x[k]! * dpr);
          const w = Math.max(1, Math.round(rects.w[k]! * dpr) - dpr);
          ctx.fillRect(x, yOf(rects.depth[k]!), w, rowH - dpr);
        }
      }
    }

    // Text pass.
    ctx.font = this.#font();
    ctx.textBaseline = 'middle';
    const cw = this.#charWidth;
    const minW = cw * 2 + TEXT_PAD * 2;
    let textColor = '';
    for (let j = 0; j < n; j++) {
      const k = order[j]!;
      const w = rects.w[k]!;
      if (w < minW) continue;
      const node = rects.node[k]!;
      let label: string;
      if (node >= 0) label = model.labelOf(node);
      else {
        const m = -1 - node;
        label = `${rects.mergedFrames[m]} small frames`;
      }
      const fit = Math.floor((w - TEXT_PAD * 2) / cw);
      if (fit < 2) continue;
      if (label.length > fit) label = label.slice(0, fit - 1) + '…';
      const color = palette.text[rb[k]!]!;
      if (color !== textColor) {
        ctx.fillStyle = color;
        textColor = color;
      }
      ctx.fillText(label, Math.round((rects.x[k]! + TEXT_PAD) * dpr), yOf(rects.depth[k]!) + rowH / 2);
    }

    // Outlines: focused and hovered frames.
    for (const [node, color] of [
      [state.selected, '#1f2328'],
      [state.hovered, '#0969da'],
    ] as const) {
      if (node < 0 || node >= tree.count) continue;
      for (let k = 0; k < n; k++) {
        if (rects.node[k] !== node) continue;
        ctx.strokeStyle = color;
        ctx.lineWidth = Math.max(1, Math.round(dpr * 1.5));
        const x = Math.round(rects.x[k]! * dpr);
        const w = Math.max(2, Math.round(rects.w[k]! * dpr) - dpr);
        ctx.strokeRect(x + ctx.lineWidth / 2, yOf(rects.depth[k]!) + ctx.lineWidth / 2, w - ctx.lineWidth, rowH - dpr - ctx.lineWidth);
        break;
      }
    }
    return rects;
  }

  #hatchPattern(): CanvasPattern | string {
    if (this.#hatch !== null) return this.#hatch;
    const size = Math.max(6, Math.round(6 * this.#dpr));
    const tile = document.createElement('canvas');
    tile.width = size;
    tile.height = size;
    const t = tile.getContext('2d');
    if (t === null) return 'transparent';
    t.strokeStyle = 'rgba(255,255,255,0.45)';
    t.lineWidth = Math.max(1, this.#dpr);
    t.beginPath();
    t.moveTo(0, size);
    t.lineTo(size, 0);
    t.moveTo(-size / 2, size / 2);
    t.lineTo(size / 2, -size / 2);
    t.moveTo(size / 2, size + size / 2);
    t.lineTo(size + size / 2, size / 2);
    t.stroke();
    this.#hatch = this.#ctx.createPattern(tile, 'repeat');
    return this.#hatch ?? 'transparent';
  }
}
