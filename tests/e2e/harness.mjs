// Shared set-up of the end-to-end tests: serves dist/ on loopback, launches Debian's Chromium
// with playwright-core in a fresh profile, opens pages that collect script errors, and runs
// the CLI for the expected results.
//
// Environment: DIST (default dist), ITERSCOPE_CLI (default target/release/iterscope, honours
// CARGO_TARGET_DIR), CHROMIUM (default /usr/bin/chromium).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
const DIST = resolve(REPO, process.env.DIST ?? 'dist');
const TARGET = resolve(REPO, process.env.CARGO_TARGET_DIR ?? 'target');
const CLI = process.env.ITERSCOPE_CLI ?? join(TARGET, 'release', 'iterscope');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
// Without the networking flags Chromium floods the machine's closed network.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Starts the server and the browser; `close()` stops both and removes the profile. */
export async function startBrowser() {
  assert.ok(existsSync(join(DIST, 'index.html')), `${DIST}/index.html missing: run trunk build first`);
  assert.ok(existsSync(CLI), `${CLI} missing: run cargo build --release -p iterscope-emulator first`);
  const server = await serve(DIST);
  const profile = mkdtempSync(join(tmpdir(), 'iterscope-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
  });
  return {
    server,
    context,
    async close() {
      await context.close();
      await server.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Opens the page (at `hash`, if given) and waits for the picker. `fresh` clears the autosaved
 * workspace first. Returns the page, the script errors seen and the time to first render.
 */
export async function openPage(env, { hash = '', fresh = true } = {}) {
  const page = await env.context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    // The browser asks for /favicon.ico on its own; the page has none.
    if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) errors.push(m.text());
  });
  if (fresh) {
    await page.goto(env.server.url);
    await page.evaluate(() => localStorage.clear());
    // A later goto that only adds a fragment would not reload the page.
    await page.goto('about:blank');
  }
  const start = performance.now();
  await page.goto(env.server.url + hash);
  await page.locator('[data-testid=example-picker]').waitFor();
  const firstRenderMs = performance.now() - start;
  return { page, errors, firstRenderMs };
}

/** Runs the CLI in the repository root and returns its stdout. */
export function cli(args) {
  return execFileSync(CLI, args, {
    cwd: REPO, encoding: 'utf8', timeout: 120_000, maxBuffer: 512 << 20,
  });
}

/** The CLI's verdict for a scenario: `load`, `attach` and `verifier_error` of `run --json`. */
export function cliVerdict(scenario) {
  const { load, attach, verifier_error: verifierError } = JSON.parse(cli(['run', scenario, '--json']));
  return { load, attach, verifierError };
}
