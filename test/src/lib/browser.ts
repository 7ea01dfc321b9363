// Headless Chromium for the UI tests (playwright-core drives the system browser; no download).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from './kiln.js';

export const chromiumPath = '/usr/bin/chromium';

/** Where tests leave screenshots and other files worth looking at (git-ignored). */
export const artifactsDir = join(repoRoot, 'test/artifacts');

/**
 * Launches the system Chromium headless. Throws (never skips) when it is missing: a UI test that
 * silently does not run is worse than a red one.
 */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} not found: the UI tests need the system Chromium (apt-get install chromium)`);
  }
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Absolute path for an artifact named `name`, creating the artifacts directory. */
export function artifactPath(name: string): string {
  mkdirSync(artifactsDir, { recursive: true });
  return join(artifactsDir, name);
}

/**
 * Records what went wrong inside `page`: uncaught exceptions, console errors and failed
 * requests. Read it at the end of a test to assert the page ran cleanly, or to explain a failure.
 */
export function watchPage(page: Page): { problems: string[] } {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} ${req.failure()?.errorText ?? ''}`));
  return { problems };
}

export interface PageRun {
  browser: Browser;
  /** Screenshots of failures are `<prefix>-<name>-failed.png`. */
  prefix: string;
  /** Whose output tail explains a failure. */
  server: { output(): string };
  viewport: { width: number; height: number };
  /** 4xx answers the test provokes on purpose (the page shows them as states; the browser logs them). */
  allowClientErrors?: boolean;
}

/**
 * Runs `body` on a fresh page and fails if the page reported problems (requests it cancelled itself,
 * superseded by a newer selection, are not problems); on failure: a screenshot, the page's problems
 * and the server's output.
 */
export async function withPage(run: PageRun, name: string, body: (page: Page) => Promise<void>): Promise<void> {
  const page = await run.browser.newPage({ viewport: run.viewport });
  const { problems } = watchPage(page);
  try {
    await body(page);
    assert.deepEqual(
      problems.filter((p) => !p.includes('net::ERR_ABORTED') && !(run.allowClientErrors === true && /status of 4\d\d/.test(p))),
      [],
      'the page reported errors',
    );
  } catch (err) {
    await page.screenshot({ path: artifactPath(`${run.prefix}-${name}-failed.png`), fullPage: true }).catch(() => {});
    if (problems.length > 0) console.error(`page problems:\n${problems.join('\n')}`);
    console.error(`server output (tail):\n${run.server.output().slice(-4000)}`);
    throw err;
  } finally {
    await page.close();
  }
}
