// Headless Chromium for the UI tests (playwright-core drives the system browser; no download).
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
