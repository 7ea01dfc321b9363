// Reading a canvas flame graph from a test: what was drawn, and where a frame is.
import type { Locator, Page } from 'playwright-core';

// The bits of the DOM these functions touch (this package compiles without the DOM library).
interface Canvas2D {
  getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
}
interface CanvasLike {
  width: number;
  height: number;
  getContext(kind: '2d'): Canvas2D | null;
  getBoundingClientRect(): { left: number; top: number; width: number; height: number };
}

export interface CanvasStats {
  width: number;
  height: number;
  /** Pixels that are not the white background. */
  drawn: number;
  /** Distinct colours among them (coarsely quantised). */
  colours: number;
}

/** Pixel statistics of the first canvas inside `graph` (a [data-testid=flamegraph]-like element). */
export async function canvasStats(graph: Locator): Promise<CanvasStats> {
  return graph
    .locator('canvas')
    .first()
    .evaluate((el: unknown) => {
      const c = el as CanvasLike;
      const ctx = c.getContext('2d');
      if (!ctx) throw new Error('no 2d context');
      const { data } = ctx.getImageData(0, 0, c.width, c.height);
      let drawn = 0;
      const colours = new Set<number>();
      for (let i = 0; i < data.length; i += 4) {
        const r = data[i]!;
        const g = data[i + 1]!;
        const b = data[i + 2]!;
        if (r > 250 && g > 250 && b > 250) continue;
        drawn++;
        colours.add(((r >> 4) << 8) | ((g >> 4) << 4) | (b >> 4));
      }
      return { width: c.width, height: c.height, drawn, colours: colours.size };
    });
}

export interface FrameBox {
  x: number;
  y: number;
  width: number;
  height: number;
  node: number;
}

/** Page-coordinates box of the widest drawn frame whose name contains `name`, or null. */
export async function locateFrame(graph: Locator, name: string): Promise<FrameBox | null> {
  return graph
    .locator('.scroller')
    .first()
    .evaluate((el: unknown, n: string) => {
      const f = (el as { kilnLocate?: (name: string) => FrameBox | null }).kilnLocate;
      return f ? f(n) : null;
    }, name);
}

/** RGB of the canvas pixel at page coordinates (x, y). */
export async function pixelAt(graph: Locator, x: number, y: number): Promise<[number, number, number]> {
  return graph
    .locator('canvas')
    .first()
    .evaluate(
      (el: unknown, p: { x: number; y: number }) => {
        const c = el as CanvasLike;
        const b = c.getBoundingClientRect();
        const sx = c.width / b.width;
        const d = c.getContext('2d')!.getImageData(Math.round((p.x - b.left) * sx), Math.round((p.y - b.top) * sx), 1, 1).data;
        return [d[0]!, d[1]!, d[2]!] as [number, number, number];
      },
      { x, y },
    );
}

/** Moves the mouse over the middle of a frame and returns the tooltip's text. */
export async function hoverFrame(page: Page, box: FrameBox): Promise<string> {
  await page.mouse.move(box.x + Math.min(box.width / 2, 40), box.y + box.height / 2);
  const tip = page.locator('[data-testid=flame-tooltip]');
  await tip.waitFor({ timeout: 5000 });
  return (await tip.textContent()) ?? '';
}

/** The window's inner height and how far the page is scrolled, CSS px. */
export async function windowGeometry(page: Page): Promise<{ innerHeight: number; scrollY: number }> {
  return page.evaluate(() => {
    const w = globalThis as unknown as { innerHeight: number; scrollY: number };
    return { innerHeight: w.innerHeight, scrollY: w.scrollY };
  });
}

export interface ScrollArea {
  scrollHeight: number;
  clientHeight: number;
  /** Window coordinates of the area's box. */
  top: number;
  bottom: number;
}

/** The flame graph's own scroll area (its `.scroller`): how tall its content is, and where it sits. */
export async function graphScrollArea(graph: Locator): Promise<ScrollArea> {
  return graph
    .locator('.scroller')
    .first()
    .evaluate((el: unknown) => {
      const s = el as { scrollHeight: number; clientHeight: number; getBoundingClientRect(): { top: number; bottom: number } };
      const b = s.getBoundingClientRect();
      return { scrollHeight: s.scrollHeight, clientHeight: s.clientHeight, top: b.top, bottom: b.bottom };
    });
}

/** Scrolls the flame graph's own scroll area to its end. */
export async function scrollGraphToEnd(graph: Locator): Promise<void> {
  await graph
    .locator('.scroller')
    .first()
    .evaluate((el: unknown) => {
      const s = el as { scrollTop: number; scrollHeight: number };
      s.scrollTop = s.scrollHeight;
    });
}
