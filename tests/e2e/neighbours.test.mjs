// Other scripts on the page, in a real browser: what the libraries storefronts still run do to
// the page's globals must not change what the SDK records, and the SDK's own work must not set
// off theirs.
// - Prototype.js before 1.7 (old Magento 1 stores) gives every array a `toJSON` that returns its
//   JSON *text*, so the page's `JSON.stringify` writes arrays as strings (peers' reports:
//   segmentio/analytics.js#626, amplitude/Amplitude-JavaScript#313).
// - zone.js (Angular, and so SAP's Composable Storefront) runs the app's change detection after
//   every timer and event listener callback that was scheduled inside the app's zone: the
//   SDK's timers and lifecycle listeners must not be among them (segmentio/analytics-angular#3),
//   nor its loading when app code in the zone starts it from the ES module entry.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, useCollectorAndBrowser, startProxy, storedEvents, waitFor } from './harness.mjs';

const SNIPPET = readFileSync(join(ROOT, 'dist', 'funnelcake', 'snippet.min.js'), 'utf8');
const ZONE_JS = readFileSync(join(ROOT, 'node_modules', 'zone.js', 'bundles', 'zone.umd.min.js'), 'utf8');
const SDK = '<script async src="/funnelcake/funnelcake.js"></script>';
// zone.js with a zone that counts the tasks it runs, as Angular's does before each change
// detection.
const COUNTING_ZONE = `<script>${ZONE_JS}</script>
<script>window.seen = { tasks: [], listenerZones: [] };
window.appZone = Zone.current.fork({
  name: 'app',
  onInvokeTask: function (delegate, current, target, task, applyThis, applyArgs) {
    seen.tasks.push(task.type + ' ' + task.source);
    return delegate.invokeTask(target, task, applyThis, applyArgs);
  }
});</script>`;

const PAGES = {
  // Prototype.js 1.6's Array#toJSON, as it behaves: the array's JSON text.
  '/prototype.html': `<!doctype html><html><head><title>prototype</title>
<script>Array.prototype.toJSON = function () {
  return '[' + Array.prototype.map.call(this, function (x) { return JSON.stringify(x); }).join(', ') + ']';
};</script>
<script>${SNIPPET}</script>
<script>funnelcake.init({ site: 'prototype', endpoint: '/v1/batch',
  funnels: [{ name: 'cart', steps: ['view_item', 'add_to_cart'] }] });
funnelcake.viewItem({ currency: 'EUR', items: [{ item_id: 'tee', price: 20 }] });
funnelcake.addToCart({ currency: 'EUR', items: [{ item_id: 'tee', price: 20, quantity: 2 }, { item_id: 'cap', price: 9.5 }] });</script>
${SDK}</head><body>prototype</body></html>`,
  // The counting zone, with the SDK loaded from its tag, as on a storefront.
  '/zone.html': `<!doctype html><html><head><title>zone</title>
${COUNTING_ZONE}
<script async src="/funnelcake/funnelcake.js" data-site="zone" data-endpoint="/v1/batch"></script>
</head><body>zone</body></html>`,
  // The same zone, with the SDK from the ES module entry, started by app code inside the zone.
  '/zone-esm.html': `<!doctype html><html><head><title>zone esm</title>
${COUNTING_ZONE}
<script type="module">
import { init, track, on } from '/funnelcake/funnelcake.mjs';
appZone.run(() => {
  init({ site: 'zone-esm', endpoint: '/v1/batch' });
  on('metrics', () => seen.listenerZones.push(Zone.current.name));
  track('started', { mark: 'esm' });
});
</script>
</head><body>zone esm</body></html>`,
};

let proxy;
const env = useCollectorAndBrowser({ before, after }, {
  seed: async (e) => { proxy = await startProxy(e.collector.url, PAGES); },
});
after(async () => { await proxy?.stop(); });

/** The page hidden and shown again, as a tab switch: the SDK's lifecycle listeners run. */
function hideAndShow(page) {
  return page.evaluate(() => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
    document.dispatchEvent(new Event('visibilitychange'));
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => false });
    document.dispatchEvent(new Event('visibilitychange'));
  });
}

async function open(path) {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(proxy.url + path);
  await page.waitForFunction(() => window.funnelcake && window.funnelcake.ready === true);
  return { context, page, errors };
}

test("Prototype.js's Array#toJSON: items, funnels and experiment options still arrive as lists", async () => {
  const { context, page, errors } = await open('/prototype.html');
  const seen = await page.evaluate(async () => {
    const variant = window.funnelcake.experiment('banner', { variations: ['a', 'b'], weights: [0.5, 0.5] });
    const m = window.funnelcake.metrics();
    const left = await window.funnelcake.flush();
    return { m, left, variant, pageStringify: JSON.stringify([1]) };
  });
  assert.equal(seen.pageStringify, '"[1]"', "the page's own JSON.stringify is left as Prototype made it");
  assert.deepEqual(seen.m.dropped.byReason, {});
  assert.equal(seen.m.cart.count, 3);
  assert.deepEqual(seen.m.cart.value, { EUR: 4950 });
  assert.equal(seen.m.funnels.cart.furthestStep, 'add_to_cart', 'the custom funnel from init was read');
  assert.equal(seen.variant.inExperiment, true, 'the variations list was read');
  assert.ok(['a', 'b'].includes(seen.variant.value));
  assert.equal(seen.left, 0);
  const stored = await waitFor(async () => {
    const events = await storedEvents(env.collector.url, 'prototype');
    return events.some((e) => e.t === 'add_to_cart') ? events : null;
  }, 10000, 'the add_to_cart event');
  const added = stored.find((e) => e.t === 'add_to_cart');
  assert.deepEqual(added.items.map((i) => [i.id, i.price, i.qty]), [['tee', 2000, 2], ['cap', 950, 1]]);
  assert.deepEqual(errors, []);
  await context.close();
});

test("zone.js: the SDK's timers, sends and listeners run outside the app's zone; on('metrics') runs in the zone it was subscribed in", async () => {
  const { context, page, errors } = await open('/zone.html');
  await page.evaluate(() => new Promise((resolve) => {
    window.appZone.run(() => {
      window.funnelcake.on('metrics', () => window.seen.listenerZones.push(Zone.current.name));
      for (let i = 0; i < 5; i++) window.funnelcake.track('clicked', { mark: 'z-' + i });
      window.funnelcake.addToCart({ currency: 'EUR', items: [{ item_id: 'tee', price: 20 }] });
      history.pushState({}, '', '/zone.html?step=2'); // an SPA page view: capture's held view
      setTimeout(() => {}, 0); // the app's own timer: the zone counts it
    });
    // Past the SDK's deferred recording, held page view and a commit.
    setTimeout(resolve, 1500);
  }));
  // Recorded by the SDK's own task, without anything reading its state: the listener heard
  // each of the seven calls (five tracks, the cart, the SPA page view), inside the app's zone.
  const heard = await page.evaluate(() => window.seen.listenerZones.slice());
  assert.deepEqual(heard, Array(7).fill('app'));
  // A hide and a show: the SDK's lifecycle listeners run, and nothing they start runs in the
  // app's zone. (Added by the script tag's start, outside any zone, here; which
  // addEventListener they are added with is js/test/native.test.mjs's.)
  await hideAndShow(page);
  assert.equal(await page.evaluate(() => window.funnelcake.flush()), 0);
  const seen = await page.evaluate(() => window.seen);
  assert.deepEqual(seen.tasks, ['macroTask setTimeout'], 'only the app\'s own timer ran in its zone');
  assert.ok(seen.listenerZones.every((z) => z === 'app'), seen.listenerZones.join());
  const stored = await waitFor(async () => {
    const events = await storedEvents(env.collector.url, 'zone');
    return events.filter((e) => e.props?.mark).length === 5 ? events : null;
  }, 10000, 'the five marked events');
  assert.ok(stored.some((e) => e.t === 'add_to_cart'));
  assert.ok(stored.some((e) => e.t === 'page_view' && e.url === '/zone.html?step=2'));
  assert.deepEqual(errors, []);
  await context.close();
});

test('zone.js: the SDK started by app code inside its zone, from the ES module entry, loads, records and sends outside it', async () => {
  const { context, page, errors } = await open('/zone-esm.html');
  // Loading (the wasm's download, compile and the replay of the first calls) ran no step in
  // the app's zone: before, its three promise steps did, each followed by change detection.
  assert.deepEqual(await page.evaluate(() => window.seen.tasks.slice()), []);
  await page.evaluate(() => new Promise((resolve) => {
    window.appZone.run(() => window.funnelcake.track('clicked', { mark: 'zone-esm' }));
    setTimeout(resolve, 1000);
  }));
  await hideAndShow(page);
  assert.equal(await page.evaluate(() => window.funnelcake.flush()), 0);
  const seen = await page.evaluate(() => window.seen);
  assert.deepEqual(seen.tasks, [], 'nothing the SDK started ran in the app\'s zone');
  assert.ok(seen.listenerZones.length >= 2 && seen.listenerZones.every((z) => z === 'app'), seen.listenerZones.join());
  const stored = await waitFor(async () => {
    const events = await storedEvents(env.collector.url, 'zone-esm');
    return events.some((e) => e.t === 'clicked') ? events : null;
  }, 10000, 'the clicked event');
  assert.deepEqual(stored.filter((e) => e.props?.mark).map((e) => [e.t, e.props.mark]).sort(),
    [['clicked', 'zone-esm'], ['started', 'esm']]);
  assert.deepEqual(errors, []);
  await context.close();
});
