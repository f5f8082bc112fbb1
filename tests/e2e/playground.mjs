// End-to-end tests of the playground's features in Debian's Chromium: stepping element by
// element, assembly editing with Ctrl+Enter, file import (a .s with its scenario, a .o),
// a rejected program marked at its line, share links, autosave across reloads, and a
// million-element run that shows progress, can be cancelled and keeps a virtualised timeline.
//
//   node --test tests/e2e/playground.mjs   (after trunk build and the release CLI build)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, cli, openPage, startBrowser } from './harness.mjs';

let env;
let scratch;

before(async () => {
  env = await startBrowser();
  scratch = mkdtempSync(join(tmpdir(), 'iterscope-files-'));
});

after(async () => {
  await env?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const idle = (page) => page.locator('[data-testid=run-button]:not([disabled])').waitFor();
const rows = (page) => page.locator('[data-testid=element-row]');

async function run(page) {
  await page.click('[data-testid=run-button]');
  await page.locator('[data-testid=attach-result]').waitFor();
  await idle(page);
}

test('step runs one element at a time, then Run finishes the same run', async () => {
  const { page, errors } = await openPage(env);
  await page.selectOption('[data-testid=example-picker]', 'hash_dump');
  for (let i = 1; i <= 3; i += 1) {
    await page.click('[data-testid=step-button]');
    await page.locator(`[data-testid=element-row][data-call="${i - 1}"]`).waitFor();
    await idle(page);
    assert.equal(await rows(page).count(), i);
  }
  assert.equal(await rows(page).nth(2).getAttribute('data-seq-num'), '2');
  // Written by the program but not yet returned by read(): shown as pending.
  assert.ok((await page.locator('[data-testid=seq-pending]').textContent()).length > 0);
  await run(page);
  assert.equal(await rows(page).last().getAttribute('data-stop'), 'true');
  assert.equal(
    await page.locator('[data-testid=seq-output]').textContent(),
    cli(['run', 'examples/hash_dump.json']),
  );
  assert.ok(await page.locator('[data-testid=step-button]').isDisabled(), 'nothing left to step');
  await rows(page).first().click();
  assert.match(await page.locator('[data-testid=call-details]').textContent(), /helper calls/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('an imported .s with its scenario runs as the CLI runs it, and Ctrl+Enter reruns', async () => {
  const { page, errors } = await openPage(env);
  await page.setInputFiles('[data-testid=object-upload]', [
    join(REPO, 'examples/asm_count.json'),
    join(REPO, 'examples/asm_count.s'),
  ]);
  const editor = page.locator('[data-testid=program-editor]');
  await page.waitForFunction(
    () => document.querySelector('[data-testid=program-editor]').value.includes('asm_count:'),
  );
  assert.equal(await editor.isEditable(), true);
  await run(page);
  const expected = cli(['run', 'examples/asm_count.json']);
  assert.equal(await page.locator('[data-testid=seq-output]').textContent(), expected);
  assert.ok((await page.locator('[data-testid=global-row]').count()) > 0, 'globals are shown');
  // Edit the format string and run with the keyboard.
  const text = await editor.inputValue();
  // Same length: the program passes the format's size to bpf_seq_printf.
  await editor.fill(text.replace('elements, sum', 'ELEMENTS, SUM'));
  await page.locator('[data-testid=attach-result]').waitFor({ state: 'detached' });
  await editor.focus();
  await page.keyboard.press('Control+Enter');
  await page.locator('[data-testid=attach-result]').waitFor();
  await idle(page);
  assert.equal(
    await page.locator('[data-testid=seq-output]').textContent(),
    expected.replace('elements, sum', 'ELEMENTS, SUM'),
  );
  assert.deepEqual(errors, []);
  await page.close();
});

test('bad assembly is marked at its line; a rejected program shows Linux\'s error', async () => {
  const { page } = await openPage(env);
  await page.click('[data-testid=edit-as-assembly]');
  const editor = page.locator('[data-testid=program-editor]');
  await editor.fill('.section "iter/bpf_map_elem"\n    r0 = 0\n    r11 = 1\n    exit\n');
  await page.click('[data-testid=verify-button]');
  await page.locator('[data-testid=run-error]').waitFor();
  assert.match(await page.locator('[data-testid=run-error]').textContent(), /:3:\d+: /);
  await editor.fill(
    '.section "iter/bpf_map_elem"\n    r1 = *(u64 *)(r1 +16)\n    if r1 == 0 goto +1\n'
      + '    *(u32 *)(r1 +0) = 7\n    r0 = 0\n    exit\n',
  );
  await page.click('[data-testid=verify-button]');
  const error = page.locator('[data-testid=verifier-error]');
  await error.waitFor();
  assert.match(await error.textContent(), /^R1 cannot write into rdonly_buf — Permission denied \(EACCES\)$/);
  const mark = page.locator('[data-testid=editor-marks] li');
  assert.equal(await mark.count(), 1);
  assert.equal(await mark.getAttribute('data-line'), '4');
  await page.click('[data-testid=goto-failing-line]');
  await page.waitForFunction(() => {
    const t = document.querySelector('[data-testid=program-editor]');
    return t.value.slice(0, t.selectionStart).split('\n').length === 4;
  });
  await page.close();
});

test('an uploaded .o runs like the CLI runs it', async () => {
  const { page, errors } = await openPage(env);
  await page.selectOption('[data-testid=example-picker]', 'hash_dump');
  await page.setInputFiles('[data-testid=object-upload]', join(REPO, 'examples/hash_dump.bpf.o'));
  await page.locator('[data-testid=example-picker] option[value=""]').waitFor({ state: 'attached' });
  assert.match(await page.locator('.program-note').textContent(), /hash_dump\.bpf\.o/);
  await run(page);
  assert.equal(
    await page.locator('[data-testid=seq-output]').textContent(),
    cli(['run', 'examples/hash_dump.json']),
  );
  assert.deepEqual(errors, []);
  await page.close();
});

test('a share link restores program and map; a reload keeps the work', async () => {
  const { page, errors } = await openPage(env);
  await page.click('[data-testid=edit-as-assembly]');
  const editor = page.locator('[data-testid=program-editor]');
  const program = `${await editor.inputValue()}\n; shared at ${Date.now()}\n`;
  await editor.fill(program);
  await page.selectOption('[data-testid=cpu-count]', '4');
  await page.click('[data-testid=share-button]');
  const url = await page.locator('[data-testid=share-url]').inputValue();
  assert.match(url, /#w=[A-Za-z0-9_-]+$/);

  // Reload: the autosave brings everything back.
  await page.reload();
  await page.locator('[data-testid=program-editor]').waitFor();
  assert.equal(await page.locator('[data-testid=program-editor]').inputValue(), program);
  assert.equal(await page.locator('[data-testid=cpu-count]').inputValue(), '4');

  // A fresh visitor (no saved work) opening the link gets the same program and CPUs.
  const visitor = await openPage(env, { hash: url.slice(url.indexOf('#')) });
  const shared = visitor.page;
  assert.equal(await shared.locator('[data-testid=program-editor]').inputValue(), program);
  assert.equal(await shared.locator('[data-testid=cpu-count]').inputValue(), '4');
  assert.match(await shared.locator('[data-testid=notice]').textContent(), /shared/);
  assert.ok(!shared.url().includes('#w='), 'the fragment is dropped after restoring');
  assert.deepEqual([...errors, ...visitor.errors], []);
  await shared.close();
  await page.close();
});

test('a million-element run shows progress, can be cancelled and resumed, and stays virtualised', async () => {
  const big = {
    description: 'array_sum over 1,000,000 slots',
    program: join(REPO, 'examples/array_sum.bpf.o'),
    map: {
      type: 'array', name: 'slots', key_size: 4, value_size: 4, max_entries: 1000000,
      entries: { gen: 'seq', count: 1000000, start: 0, step: 1, mul: 1, add: 0 },
    },
    reads: [{}],
  };
  const file = join(scratch, 'big.json');
  writeFileSync(file, JSON.stringify(big));
  const { page, errors } = await openPage(env);
  await page.selectOption('[data-testid=example-picker]', 'array_sum');
  await page.setInputFiles('[data-testid=object-upload]', file);
  await page.locator('[data-testid=notice], [data-testid=map-editor]').first().waitFor();
  // Long tasks (> 50 ms) on the main thread while the run goes on.
  await page.evaluate(() => {
    window.longTasks = [];
    new PerformanceObserver((l) => window.longTasks.push(...l.getEntries().map((e) => e.duration)))
      .observe({ type: 'longtask', buffered: false });
  });
  await page.click('[data-testid=run-button]');
  const progress = page.locator('[data-testid=progress]');
  await page.waitForFunction(() => {
    const p = document.querySelector('[data-testid=progress]');
    return p && Number(p.value) > 1000;
  });
  await page.click('[data-testid=cancel-button]');
  await idle(page);
  const stoppedAt = Number(await progress.getAttribute('value'));
  assert.ok(stoppedAt > 1000 && stoppedAt < 1000001, `cancelled at ${stoppedAt}`);
  assert.ok(!(await page.locator('[data-testid=step-button]').isDisabled()), 'the run can go on');
  await run(page);
  assert.equal(Number(await progress.getAttribute('value')), 1000001);
  const expected = cli(['run', file]);
  // A big output shows its tail, and says how long the whole is.
  const shown = await page.locator('[data-testid=seq-output]').textContent();
  assert.ok(shown.length > 1000 && expected.endsWith(shown), 'the shown tail is the CLI output\'s');
  assert.match(
    await page.locator('.output-hint').first().textContent(),
    new RegExp(`of ${Buffer.byteLength(expected)} bytes`),
  );
  assert.equal(await page.locator('[data-testid=timeline]').getAttribute('aria-rowcount'), '1000001');
  const rendered = await rows(page).count();
  assert.ok(rendered > 0 && rendered < 100, `${rendered} rows in the DOM`);
  assert.equal(await rows(page).last().getAttribute('data-stop'), 'true');
  const longTasks = await page.evaluate(() => window.longTasks);
  const worst = Math.max(0, ...longTasks);
  console.log(`1M run: ${longTasks.length} long tasks, worst ${worst.toFixed(0)} ms`);
  assert.deepEqual(errors, []);
  await page.close();
});

/** The register's value as the trace panel shows it (a decimal u64). */
const reg = async (page, r) => BigInt(await page.locator(`[data-testid=register-r${r}]`).getAttribute('data-value'));
const pc = async (page) => Number(await page.locator('[data-testid=trace-pc]').textContent());

test('the stepper walks a call forward to its exit and back, with the registers it computed', async () => {
  const { page, errors } = await openPage(env);
  await page.selectOption('[data-testid=example-picker]', 'hash_dump');
  await run(page);
  await page.locator('[data-testid=element-row][data-call="1"]').click();
  await page.click('[data-testid=open-trace]');
  const view = page.locator('[data-testid=trace-view]');
  await view.locator('[data-testid=trace-pc]').waitFor();
  assert.equal(await page.locator('[data-testid=engine-disagreement]').count(), 0);
  assert.equal(await pc(page), 0);
  const forward = page.locator('[data-testid=step-forward]');
  const seen = new Map();
  let steps = 0;
  while (await forward.isEnabled()) {
    const at = await pc(page);
    await forward.click();
    steps += 1;
    // After `r4 = r10; r4 += -16` (pc 71, 72, in the subprogram's frame) r4 points 16
    // bytes below the frame pointer.
    if (at === 72) seen.set('r4', (await reg(page, 4)) === (await reg(page, 10)) - 16n);
    // pc 49 is `r2 += 1` on the element count: the second call makes it 2.
    if (at === 49) seen.set('r2', await reg(page, 2));
    // pc 50 stores the count into .bss: its bytes are shown with the write highlighted.
    if (at === 50) {
      seen.set('bss', await page.locator('.trace-memory dd .is-accessed').count());
    }
    assert.ok(steps < 500, 'the trace ends');
  }
  assert.equal(seen.get('r4'), true);
  assert.equal(seen.get('r2'), 2n);
  assert.equal(seen.get('bss'), 4, 'the 4 bytes written into .bss are highlighted');
  assert.equal(await reg(page, 0), 0n, 'the program returns 0');
  assert.match(await view.textContent(), /exit/);
  // Back to the start with the keyboard, one instruction at a time.
  await view.focus();
  for (let i = 0; i < steps; i += 1) await page.keyboard.press('b');
  assert.ok(await page.locator('[data-testid=step-back]').isDisabled());
  assert.equal(await pc(page), 0);
  // A breakpoint at pc 49, then continue: the stepper stops there.
  await page.keyboard.press('End');
  await page.keyboard.press('Home');
  for (let i = 0; i < 60 && (await pc(page)) !== 46; i += 1) await forward.click();
  await page.locator('[data-testid=trace-steps] li, .trace-steps li').first().waitFor();
  const bp = page.locator('.trace-steps li', { hasText: '49:' }).locator('[data-testid=bp-toggle]');
  await bp.click();
  await page.keyboard.press('Home');
  await view.focus();
  await page.keyboard.press('c');
  assert.equal(await pc(page), 49);
  assert.deepEqual(errors, []);
  await page.close();
});

test('teaching mode traces a rejected program and shows the key it corrupts', async () => {
  const { page, errors } = await openPage(env);
  await page.selectOption('[data-testid=example-picker]', 'write_key_rejected');
  await page.check('[data-testid=no-verify]');
  await run(page);
  await page.locator('[data-testid=verifier-error]').waitFor();
  await page.click('[data-testid=trace-anyway]');
  await page.locator('[data-testid=trace-unverified]').waitFor();
  const key = () => page.locator('.trace-memory dd').first().textContent();
  assert.equal((await key()).replace(/\s/g, ''), '01000000');
  await page.click('[data-testid=trace-end]');
  assert.equal((await key()).replace(/\s/g, ''), '09000000', 'the store reached the map\'s key');
  assert.deepEqual(errors, []);
  await page.close();
});

test('the socket editor changes what a socket-storage iterator sees', async () => {
  const { page, errors } = await openPage(env);
  await page.selectOption('[data-testid=example-picker]', 'sk_storage_sum');
  const sockets = page.locator('[data-testid=socket-row]');
  await sockets.first().waitFor();
  assert.equal(await sockets.count(), 4);
  await run(page);
  const output = page.locator('[data-testid=seq-output]');
  assert.equal(await output.textContent(), 'ipv6 sockets: 3, value sum: 6\n');
  // Socket 0 stores 10 instead of 1; socket 1 loses its storage and is no longer visited.
  await sockets.nth(0).locator('[data-testid=socket-storage]').fill('0a000000');
  await sockets.nth(1).locator('[data-testid=socket-has-storage]').uncheck();
  await page.locator('[data-testid=attach-result]').waitFor({ state: 'detached' });
  await run(page);
  assert.equal(await output.textContent(), 'ipv6 sockets: 2, value sum: 13\n');
  // A value of the wrong size is refused where it was typed, and nothing is lost.
  const bad = sockets.nth(0).locator('[data-testid=socket-storage]');
  await bad.fill('0a00');
  assert.match(await sockets.nth(0).textContent(), /socket 0 storage: 2 bytes, the map's value_size is 4/);
  assert.equal(await bad.inputValue(), '0a00');
  assert.deepEqual(errors, []);
  await page.close();
});
