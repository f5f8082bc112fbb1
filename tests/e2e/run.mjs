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
import { join } from 'node:path';
import { cli, cliVerdict, openPage as open, startBrowser } from './harness.mjs';

let env;

before(async () => {
  env = await startBrowser();
});

after(async () => {
  await env?.close();
});

const openPage = () => open(env);

test('page renders title, picker and run button', async () => {
  const { page, errors, firstRenderMs } = await openPage();
  console.log(`time to first render: ${firstRenderMs.toFixed(0)} ms`);
  assert.match(await page.title(), /Iterscope/);
  assert.equal(await page.locator('h1').textContent(), 'Iterscope');
  assert.ok(await page.locator('[data-testid=run-button]').isEnabled());
  assert.ok((await page.locator('[data-testid=program-editor]').inputValue()).includes('iter/bpf_map_elem'));
  assert.deepEqual(errors, []);
  await page.close();
});

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
      await page.locator('[data-testid=attach-result]').waitFor({ state: 'detached' });
      const start = performance.now();
      await page.click('[data-testid=run-button]');
      const output = page.locator('[data-testid=seq-output]');
      await page.locator('[data-testid=attach-result]').waitFor({ state: 'attached' });
      await page.locator('[data-testid=run-button]:not([disabled])').waitFor();
      console.log(`${name}: run rendered in ${(performance.now() - start).toFixed(0)} ms`);
      const verdict = cliVerdict(join('examples', `${name}.json`));
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
        assert.equal(await output.count(), 0, 'nothing ran');
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
      // The page shows the first read session (the one it steps through).
      const expected = JSON.parse(cli(['run', join('examples', `${name}.json`), '--json'])).reads[0].text;
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
    await page.locator('[data-testid=element-row]').first().click();
    await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
  }
  assert.deepEqual(errors, []);
  await page.close();
});
