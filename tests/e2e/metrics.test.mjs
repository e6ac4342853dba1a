// The session metrics computed in the browser: the live snapshot matches the published
// TypeScript types, and leaving the page delivers a session_summary that the collector stores.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, useCollectorAndBrowser, storedEvents, waitFor } from './harness.mjs';

const env = useCollectorAndBrowser({ before, after });

/** Type-checks `snapshot` as a `Metrics` literal: tsc rejects missing and unknown fields. */
function typecheck(snapshot) {
  const dir = mkdtempSync(join(tmpdir(), 'fc-types-'));
  try {
    const file = join(dir, 'snapshot.ts');
    const dts = join(ROOT, 'js', 'funnelcake').replace(/\\/g, '/');
    writeFileSync(file, `import type { Metrics } from '${dts}';\nexport const m: Metrics = ${JSON.stringify(snapshot, null, 1)};\n`);
    execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'),
      ['--noEmit', '--strict', '--target', 'es2020', '--module', 'esnext', '--moduleResolution', 'bundler', file],
      { stdio: 'pipe' });
  } catch (e) {
    throw new Error('snapshot does not match js/funnelcake.d.ts:\n' + (e.stdout || '') + (e.stderr || ''));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a shopper who leaves at shipping: live metrics, then the stored session_summary', async () => {
  const page = await env.browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(env.collector.url + '/?utm_source=newsletter&utm_medium=email&utm_campaign=autumn');
  await page.waitForFunction(() => window.funnelcake && window.funnelcake.ready === true);
  const updates = await page.evaluate(async () => {
    const fc = window.funnelcake;
    const seen = [];
    fc.on('metrics', (m) => seen.push(m.funnel.furthestStep));
    const shoe = { item_id: 'TR-1', item_name: 'Trail Runner', price: 119, currency: 'USD' };
    fc.viewItem(shoe);
    fc.addToCart({ ...shoe, quantity: 2 });
    fc.beginCheckout({ currency: 'USD', items: [{ ...shoe, quantity: 2 }] });
    fc.checkoutStep('contact', { method: 'guest' });
    // The calls return at once; the SDK records them (and listeners hear each) in the next task.
    const during = seen.length;
    await new Promise((r) => setTimeout(r, 0));
    return during === 0 ? seen : ['heard during the calls'];
  });
  assert.deepEqual(updates, ['view_item', 'add_to_cart', 'begin_checkout', 'begin_checkout'], 'one call per event');

  const snapshot = await page.evaluate(() => window.funnelcake.metrics());
  typecheck(snapshot);
  assert.equal(snapshot.funnel.furthestStep, 'begin_checkout');
  assert.equal(snapshot.funnel.dropOffStep, 'add_shipping_info');
  assert.equal(snapshot.source.kind, 'email');
  assert.equal(snapshot.source.campaign, 'autumn');
  assert.deepEqual(snapshot.cart.value, { USD: 23800 });
  assert.equal(snapshot.checkoutAbandoned, true);
  const ids = await page.evaluate(() => window.funnelcake.debugState());

  // Leaving the page (pagehide) queues a provisional summary and sends it with keepalive.
  await page.goto('about:blank');
  const summary = await waitFor(async () => {
    const events = await storedEvents(env.collector.url, 'demo-shop');
    return events.find((e) => e.t === 'session_summary' && e.sid === ids.sessionId);
  }, 15000, 'the session_summary');
  assert.equal(summary.props.final, false, 'provisional');
  assert.equal(summary.props.funnel.furthest_step, 'begin_checkout');
  assert.equal(summary.props.funnel.drop_off_step, 'add_shipping_info');
  assert.equal(summary.props.checkout_abandoned, true);
  assert.equal(summary.props.cart_abandoned, true);
  assert.deepEqual(summary.props.cart.value, { USD: 23800 });
  assert.equal(summary.props.source.kind, 'email');
  const stored = await storedEvents(env.collector.url, 'demo-shop');
  const mine = stored.filter((e) => e.sid === ids.sessionId);
  assert.deepEqual(mine.map((e) => e.t).sort(),
    ['add_to_cart', 'begin_checkout', 'checkout_contact', 'page_view', 'session_summary', 'view_item', 'view_item_list']);
  assert.ok(summary.seq > Math.max(...mine.filter((e) => e.t !== 'session_summary').map((e) => e.seq)));
  assert.deepEqual(errors, []);
  await page.close();
});
