// The live widgets in Chromium: the session widget reflects a tracked event, the site widget a
// collector update, each within 2 s; the site widget recovers when the collector goes away and
// comes back; the experiment widget shows per-variation results; in an Angular app (zone.js),
// their updates run none of its change detection.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, useCollectorAndBrowser, shop, waitFor } from './harness.mjs';

const env = useCollectorAndBrowser({ before, after });

/** Text content of the widget's shadow DOM rows: [{step, count|reached}]. */
async function rows(page, selector) {
  return page.evaluate((sel) => {
    const el = document.querySelector(sel);
    if (!el || !el.shadowRoot) return [];
    return [...el.shadowRoot.querySelectorAll('li')].map((li) => ({
      step: li.dataset.step, count: li.dataset.count && Number(li.dataset.count), reached: li.dataset.reached, text: li.textContent,
    }));
  }, selector);
}

const status = (page, sel) => page.evaluate((s) => document.querySelector(s)?.shadowRoot?.querySelector('[data-status]')?.dataset.status, sel);

test("the storefront corner widget shows this visitor's funnel and reflects a tracked event within 2 s", async () => {
  const page = await env.browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(env.collector.url + '/');
  await page.waitForFunction(() => window.funnelcake && window.funnelcake.ready === true);
  await waitFor(async () => (await rows(page, 'funnelcake-funnel')).length === 7, 5000, 'the widget to render');
  const before = await rows(page, 'funnelcake-funnel');
  assert.equal(before.find((r) => r.step === 'page_view').reached, 'true');
  assert.equal(before.find((r) => r.step === 'add_to_cart').reached, 'false');
  const t0 = Date.now();
  await page.evaluate(() => window.funnelcake.addToCart({ item_id: 'TR-1', price: 119, currency: 'USD' }));
  await waitFor(async () => (await rows(page, 'funnelcake-funnel')).find((r) => r.step === 'add_to_cart').reached === 'true', 2000, 'the widget to update');
  assert.ok(Date.now() - t0 < 2000);
  // Accessible: the numbers are text, and updates are announced politely.
  const live = await page.evaluate(() => document.querySelector('funnelcake-funnel').shadowRoot.querySelector('[aria-live]').getAttribute('aria-live'));
  assert.equal(live, 'polite');
  assert.match((await rows(page, 'funnelcake-funnel'))[2].text, /Added to cart.*reached/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the site widget reflects collector updates within 2 s and recovers when the collector comes back', async () => {
  const page = await env.browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(env.collector.url + '/dashboard.html');
  await waitFor(async () => (await status(page, '#site-widget')) === 'live', 5000, 'the live stream');
  const count = async () => (await rows(page, '#site-widget')).find((r) => r.step === 'purchase')?.count ?? 0;
  const before = await count();
  await shop(env.browser, env.collector.url, { depth: 7, order: 'W-1' });
  const t0 = Date.now();
  await waitFor(async () => (await count()) === before + 1, 4000, 'the purchase to show');
  // The summary reaches the collector on page hide, then the next 1 s tick carries it.
  assert.ok(Date.now() - t0 < 2000, `${Date.now() - t0} ms`);

  // The collector goes away and comes back on the same port and database. The widget is
  // watched while it is down (`restart` keeps it down 3 s): awaited first, the restart could
  // end after the widget had already reconnected, and 'reconnecting' was then never seen.
  const restarted = env.collector.restart();
  await waitFor(async () => (await status(page, '#site-widget')) === 'reconnecting', 10000, 'the widget to notice');
  await restarted;
  await waitFor(async () => (await status(page, '#site-widget')) === 'live', 20000, 'the widget to reconnect');
  await shop(env.browser, env.collector.url, { depth: 7, order: 'W-2' });
  await waitFor(async () => (await count()) === before + 2, 4000, 'updates after the reconnect');
  assert.deepEqual(errors, []);
  await page.close();
});

test("each bar of the site widget shows its step's share, as columns in the horizontal layout", async () => {
  await shop(env.browser, env.collector.url, { depth: 2 });
  const page = await env.browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(env.collector.url + '/dashboard.html');
  await waitFor(async () => (await rows(page, '#site-widget')).some((r) => r.count > 0), 5000, 'the counts');
  for (const layout of ['horizontal', null]) {
    await page.evaluate((l) => {
      const w = document.querySelector('#site-widget');
      if (l) w.setAttribute('layout', l); else w.removeAttribute('layout');
    }, layout);
    await page.waitForTimeout(400); // the bars' transition
    const bars = await page.evaluate(() => [...document.querySelector('#site-widget').shadowRoot.querySelectorAll('li')].map((li) => {
      const bar = li.querySelector('.bar').getBoundingClientRect();
      const fill = li.querySelector('.fill').getBoundingClientRect();
      return { count: Number(li.dataset.count), bar, fill };
    }));
    const first = bars[0].count;
    assert.ok(first > bars[bars.length - 1].count, 'some sessions stopped before the last step');
    for (const b of bars) {
      const [size, full, other, otherFull] = layout
        ? [b.fill.height, b.bar.height, b.fill.width, b.bar.width]
        : [b.fill.width, b.bar.width, b.fill.height, b.bar.height];
      assert.ok(Math.abs(size - (full * b.count) / first) <= 1.5, `${layout}: ${size} of ${full} for ${b.count}/${first}`);
      assert.ok(Math.abs(other - otherFull) <= 1.5, `${layout}: the bar fills its other side`);
    }
    if (layout) {
      const tops = bars.map((b) => Math.round(b.bar.top));
      assert.ok(tops.every((t) => t === tops[0]), `the columns' bars line up (${tops})`);
    }
  }
  await page.close();
});

test('the experiment widget shows per-variation conversion and lift', async () => {
  // Sessions exposed to the experiment, as session summaries (the browser records assignments).
  const events = [];
  for (let i = 0; i < 40; i++) {
    const variation = i % 2;
    const converted = variation === 1 ? i % 4 === 1 : i % 8 === 0;
    events.push({
      id: (5000 + i).toString(16).padStart(32, '0'), t: 'session_summary', ts: Date.now(), sid: `exp-${i}`, aid: `a-${i}`, seq: 9, url: '/',
      props: { started_at: Date.now() - 1000, converted, source: { kind: 'direct' }, experiments: { 'checkout-button': variation }, final: true },
    });
  }
  const res = await fetch(env.collector.url + '/v1/batch', { method: 'POST', body: JSON.stringify({ v: 1, site: 'demo-shop', sent_at: Date.now(), events }) });
  assert.equal(res.status, 200);
  const page = await env.browser.newPage();
  await page.goto(env.collector.url + '/dashboard.html');
  await waitFor(async () => page.evaluate(() => document.querySelector('#exp-widget')?.shadowRoot?.querySelectorAll('tr[data-variation]').length === 2), 5000, 'the experiment rows');
  const text = await page.evaluate(() => document.querySelector('#exp-widget').shadowRoot.textContent);
  // Variation 0: 20 sessions, 3 conversions (i = 0, 8, 16, 24, 32 → even i divisible by 8: 0, 8, 16, 24, 32 = 5).
  assert.match(text, /control/);
  assert.match(text, /25\.0%/, 'variation 0: 5 of 20');
  assert.match(text, /50\.0%/, 'variation 1: 10 of 20');
  await page.close();
});

test("in an Angular app (zone.js), the widgets' stream, timers, frames and metrics listener run outside its zone", async () => {
  const zoneJs = readFileSync(join(ROOT, 'node_modules', 'zone.js', 'bundles', 'zone.umd.min.js'), 'utf8');
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // A zone that counts what runs in it, as Angular's does before each change detection: tasks
  // (timers, listeners, frames) and calls run inside it.
  await page.route(env.collector.url + '/zone-widgets.html', (r) => r.fulfill({ contentType: 'text/html', body: `<!doctype html>
<html><head><title>zone widgets</title><script>${zoneJs}</script>
<script>window.ran = [];
window.appZone = Zone.current.fork({ name: 'app',
  onInvokeTask(d, c, t, task, self, args) { ran.push(task.type + ' ' + task.source); return d.invokeTask(t, task, self, args); },
  onInvoke(d, c, t, cb, self, args, source) { ran.push('run'); return d.invoke(t, cb, self, args, source); } });</script>
<script async src="/funnelcake/funnelcake.js" data-site="zone-widgets" data-endpoint="/v1/batch"></script>
</head><body></body></html>` }));
  await page.goto(env.collector.url + '/zone-widgets.html');
  await page.waitForFunction(() => window.funnelcake && window.funnelcake.ready === true);
  // The app loads the widgets with a lazy route, whose code runs inside its zone (zone.js then
  // calls the elements' callbacks in that zone), and renders both, as an Angular template would.
  const widgets = readFileSync(join(ROOT, 'dist', 'funnelcake', 'funnelcake-widgets.js'), 'utf8');
  await page.evaluate((code) => window.appZone.run(() => {
    new Function(code)();
    for (const source of ['site', 'session']) {
      const el = document.createElement('funnelcake-funnel');
      el.id = source;
      el.setAttribute('source', source);
      el.setAttribute('site', 'zone-widgets');
      document.body.append(el);
    }
  }), widgets);
  await waitFor(async () => (await status(page, '#site')) === 'live', 5000, 'the live stream');
  await page.evaluate(() => window.funnelcake.addToCart({ item_id: 'Z-1', price: 5, currency: 'USD' }));
  await waitFor(async () => (await rows(page, '#session')).find((r) => r.step === 'add_to_cart')?.reached === 'true', 3000, 'the session widget to update');
  await page.waitForTimeout(2500); // two more ticks of the live stream, each rendered
  assert.ok((await rows(page, '#site')).length > 0, 'the site widget rendered');
  // The app's own run, and zone.js calling each element's connectedCallback in the zone the
  // elements were defined in: nothing the widgets started since.
  assert.deepEqual(await page.evaluate(() => window.ran), ['run', 'run', 'run']);
  assert.deepEqual(errors, []);
  await context.close();
});
