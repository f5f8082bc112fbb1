// End-to-end test of the built page: serves dist/ on loopback, drives Debian's Chromium with
// playwright-core, runs every example and compares the page's output, or its load/attach
// verdict for the examples Linux refuses, with the CLI's.
//
// Run from the repository root after `trunk build --release` and
// `cargo build --release -p iterscope-emulator`:
//   node --test tests/e2e/run.mjs
// Environment: DIST (default dist), ITERSCOPE_CLI (default target/release/iterscope, honours
// CARGO_TARGET_DIR), CHROMIUM (default /usr/bin/chromium), SCREENSHOT (write a PNG there).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const DIST = resolve(REPO, process.env.DIST ?? 'dist');
const TARGET = resolve(REPO, process.env.CARGO_TARGET_DIR ?? 'target');
const CLI = process.env.ITERSCOPE_CLI ?? join(TARGET, 'release', 'iterscope');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
// Flags from shared/TOOLCHAIN.md: without the networking ones Chromium floods the closed network.
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

let server;
let context;
let profile;

before(async () => {
  assert.ok(existsSync(join(DIST, 'index.html')), `${DIST}/index.html missing: run trunk build first`);
  assert.ok(existsSync(CLI), `${CLI} missing: run cargo build --release -p iterscope-emulator first`);
  server = await serve(DIST);
  profile = mkdtempSync(join(tmpdir(), 'iterscope-e2e-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
  });
});

after(async () => {
  await context?.close();
  await server?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function openPage() {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    // The browser asks for /favicon.ico on its own; the page has none.
    if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) errors.push(m.text());
  });
  const start = performance.now();
  await page.goto(server.url);
  await page.locator('[data-testid=example-picker]').waitFor();
  const firstRenderMs = performance.now() - start;
  return { page, errors, firstRenderMs };
}

test('page renders title, picker and run button', async () => {
  const { page, errors, firstRenderMs } = await openPage();
  console.log(`time to first render: ${firstRenderMs.toFixed(0)} ms`);
  assert.match(await page.title(), /Iterscope/);
  assert.equal(await page.locator('h1').textContent(), 'Iterscope');
  assert.ok(await page.locator('[data-testid=run-button]').isEnabled());
  assert.ok((await page.locator('[data-testid=scenario]').textContent()).length > 0);
  assert.deepEqual(errors, []);
  await page.close();
});

/** The CLI's verdict for an example: `load`, `attach` and `verifier_error` of `run --json`. */
function cliVerdict(name) {
  const json = execFileSync(CLI, ['run', join('examples', `${name}.json`), '--json'], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 60_000,
  });
  const { load, attach, verifier_error: verifierError } = JSON.parse(json);
  return { load, attach, verifierError };
}

test('every example: output equals the CLI output, or the verdict is Linux\'s', async (t) => {
  const { page, errors } = await openPage();
  const names = await page
    .locator('[data-testid=example-picker] option')
    .evaluateAll((opts) => opts.map((o) => o.value));
  assert.ok(names.length > 0, 'the picker lists examples');
  const failing = { rejected: 0, attachFailed: 0 };
  for (const name of names) {
    await t.test(name, async () => {
      await page.selectOption('[data-testid=example-picker]', name);
      // Picking an example drops the previous outcome: wait for it to go before running.
      await page.locator('[data-testid=seq-output]').waitFor({ state: 'detached' });
      const start = performance.now();
      await page.click('[data-testid=run-button]');
      const output = page.locator('[data-testid=seq-output]');
      await output.waitFor({ state: 'attached' });
      console.log(`${name}: run rendered in ${(performance.now() - start).toFixed(0)} ms`);
      const verdict = cliVerdict(name);
      const attachResult = await page.locator('[data-testid=attach-result]').textContent();
      if (verdict.load !== 'ok') {
        failing.rejected += 1;
        assert.equal(verdict.load, 'rejected');
        assert.ok(verdict.verifierError.length > 0, `the CLI gave no verifier error for ${name}`);
        const shown = await page.locator('[data-testid=verifier-error]').textContent();
        assert.ok(
          shown.includes(verdict.verifierError),
          `verifier-error ${JSON.stringify(shown)} lacks ${JSON.stringify(verdict.verifierError)}`,
        );
        assert.match(shown, / — .+ \([A-Z0-9]+\)$/, 'the error line is followed by its errno');
        const log = await page.locator('[data-testid=verifier-log]').textContent();
        assert.ok(log.includes(verdict.verifierError), 'the log holds the error line');
        const marked = page.locator('[data-testid=verifier-log] .verifier-log-failing');
        assert.equal(await marked.count(), 1, 'the failing instruction is marked');
        assert.match(attachResult, /load: rejected/);
        assert.match(attachResult, /not attempted/);
        assert.equal(await output.textContent(), '');
        assert.equal(await page.locator('[data-testid=element-row]').count(), 0);
        return;
      }
      if (verdict.attach !== 'ok') {
        failing.attachFailed += 1;
        assert.equal(verdict.attach, 'failed: Permission denied (EACCES)');
        assert.ok(attachResult.includes('attach: failed: Permission denied (EACCES)'), attachResult);
        assert.equal(await page.locator('[data-testid=verifier-error]').count(), 0);
        assert.equal(await page.locator('[data-testid=element-row]').count(), 0);
        return;
      }
      const expected = execFileSync(CLI, ['run', join('examples', `${name}.json`)], {
        cwd: REPO,
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.ok(expected.length > 0, `the CLI printed nothing for ${name}`);
      assert.equal(await output.textContent(), expected);
      assert.match(attachResult, /load: ok · attach: ok/);
      const rows = page.locator('[data-testid=element-row]');
      assert.ok((await rows.count()) > 0, 'the timeline has rows');
      assert.equal(await rows.last().getAttribute('data-stop'), 'true');
    });
  }
  console.log(`rejected at load: ${failing.rejected}, attach failed: ${failing.attachFailed}`);
  assert.ok(failing.rejected > 0 && failing.attachFailed > 0, 'bad examples are exercised');
  if (process.env.SCREENSHOT) {
    await page.selectOption('[data-testid=example-picker]', names[0]);
    await page.click('[data-testid=run-button]');
    await page.locator('[data-testid=seq-output]').waitFor();
    await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
  }
  assert.deepEqual(errors, []);
  await page.close();
});
