// Embedding forms and privacy in a real browser: the ES module entry, the inline snippet + tag,
// a wasm that cannot load, a wasm served with the wrong content type, a strict CSP, debug mode's
// console messages, and Do Not Track / Global Privacy Control in each privacy mode (what is
// persisted and what is sent).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, useCollectorAndBrowser, startCollector, startProxy, storedEvents, waitFor } from './harness.mjs';

const SNIPPET = readFileSync(join(ROOT, 'dist', 'funnelcake', 'snippet.min.js'), 'utf8');
const tag = (site, extra = '') =>
  `<script async src="/funnelcake/funnelcake.js" data-site="${site}" data-endpoint="/v1/batch" ${extra}></script>`;
const PAGES = {
  '/esm.html': `<!doctype html><html><head><title>esm</title></head><body>
<script type="module">
  import { init, track, flush, metrics } from '/funnelcake/funnelcake.mjs';
  init({ site: 'esm', endpoint: '/v1/batch' });
  track('from_module', { mark: 'esm-1' });
  window.esmDone = flush().then((left) => ({ left, metrics: metrics() }));
</script></body></html>`,
  '/snippet.html': `<!doctype html><html><head><title>snippet</title><script>${SNIPPET}</script>
<script>funnelcake.init({ site: 'snippet', endpoint: '/v1/batch' }); funnelcake.track('early', { mark: 's-1' });
history.replaceState({}, '', '/snippet.html?moved=1'); funnelcake.track('later', { mark: 's-2' });</script>
${tag('snippet')}</head><body>snippet</body></html>`,
  '/mime.html': `<!doctype html><html><head><title>mime</title><script>${SNIPPET}</script>
<script>funnelcake.track('early', { mark: 'm-1' });</script>${tag('mime')}</head><body>mime</body></html>`,
  // A page with a CommonJS-style global `module` of its own (some bundler shims define one).
  '/module.html': `<!doctype html><html><head><title>module</title>
<script>window.module = { exports: {} }; window.require = function () { throw new Error('no require here'); };</script>
${tag('module')}</head><body>module</body></html>`,
  '/csp.html': `<!doctype html><html><head><title>csp</title>
<meta http-equiv="Content-Security-Policy" content="script-src 'self' 'wasm-unsafe-eval'">
${tag('csp')}</head><body>csp</body></html>`,
  // Debug mode: a config with a misspelt key, a value out of range and an unknown currency, then
  // two calls the SDK must drop.
  '/debug.html': `<!doctype html><html><head><title>debug</title><script>${SNIPPET}</script>
<script>funnelcake.init({ site: 'debug', endpoint: '/v1/batch', debug: true, flushInterval: 1000, flushAt: 0, currency: 'ZZZ' });
funnelcake.track(''); funnelcake.purchase({ value: 5, currency: 'EUR' });</script>
<script async src="/funnelcake/funnelcake.js"></script></head><body>debug</body></html>`,
  '/privacy-respect.html': `<!doctype html><html><head><title>p</title>${tag('p-respect')}</head><body></body></html>`,
  '/privacy-strict.html': `<!doctype html><html><head><title>p</title>${tag('p-strict', 'data-privacy="strict"')}</head><body></body></html>`,
  '/privacy-ignore.html': `<!doctype html><html><head><title>p</title>${tag('p-ignore', 'data-privacy="ignore"')}</head><body></body></html>`,
  '/consent.html': `<!doctype html><html><head><title>c</title>${tag('consent', 'data-consent="pending"')}</head><body></body></html>`,
  // GTM consent mode as a consent banner sets it up: analytics denied by default, before the tag.
  '/consent-mode.html': `<!doctype html><html><head><title>cm</title><script>window.dataLayer = window.dataLayer || [];
function gtag() { dataLayer.push(arguments); } gtag('consent', 'default', { analytics_storage: 'denied', ad_storage: 'denied' });</script>
${tag('consent-mode')}</head><body></body></html>`,
};

let proxy;
const env = useCollectorAndBrowser({ before, after }, {
  seed: async (e) => { proxy = await startProxy(e.collector.url, PAGES); },
});
after(async () => { await proxy?.stop(); });

// The wasm, asked for by the script with its version (`funnelcake.wasm?v=…`) or by the module without.
const WASM = /\.wasm(\?.*)?$/;

async function open(path, { gpc = false, blockWasm = false, wasmType = null } = {}) {
  const context = await env.browser.newContext();
  if (gpc) await context.addInitScript(() => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true }));
  if (blockWasm) await context.route(WASM, (r) => r.abort());
  if (wasmType) {
    // The real wasm, served with another content type (a misconfigured CDN).
    const body = readFileSync(join(ROOT, 'dist', 'funnelcake', 'funnelcake.wasm'));
    await context.route(WASM, (r) => r.fulfill({ status: 200, contentType: wasmType, body }));
  }
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(proxy.url + path);
  return { context, page, errors };
}

const ready = (page) => page.waitForFunction(() => window.funnelcake && window.funnelcake.ready === true);
const marks = async (site) => (await storedEvents(env.collector.url, site)).filter((e) => e.props?.mark);

test('ES module entry: import { init, track } works and delivers', async () => {
  const { context, page, errors } = await open('/esm.html');
  const done = await page.evaluate(() => window.esmDone);
  assert.equal(done.left, 0);
  assert.equal(done.metrics.pageViews, 1);
  const stored = await waitFor(async () => (await marks('esm')).length ? marks('esm') : null, 10000, 'the module event');
  assert.deepEqual(stored.map((e) => e.t), ['from_module']);
  assert.deepEqual(errors, []);
  await context.close();
});

test('snippet + tag: calls made before the SDK loads keep their order, time and page', async () => {
  const { context, page, errors } = await open('/snippet.html');
  await ready(page);
  await page.evaluate(() => window.funnelcake.flush());
  const stored = await waitFor(async () => ((await marks('snippet')).length === 2 ? marks('snippet') : null), 10000, 'both events');
  stored.sort((a, b) => a.seq - b.seq);
  assert.deepEqual(stored.map((e) => [e.t, e.url]), [['early', '/snippet.html'], ['later', '/snippet.html?moved=1']]);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a wasm that cannot load leaves the page working and the stub harmless', async () => {
  const { context, page, errors } = await open('/snippet.html', { blockWasm: true });
  await page.waitForTimeout(500);
  const state = await page.evaluate(() => {
    const fc = window.funnelcake;
    fc.track('x');
    fc.viewItem({ item_id: 'A' });
    return { stub: fc._stub === true, metrics: fc.metrics(), exp: fc.experiment('k', { variations: ['a', 'b'] }) };
  });
  assert.deepEqual(state, { stub: true, metrics: null, exp: { variation: 0, value: 'a', inExperiment: false } });
  assert.deepEqual(errors, []);
  await context.close();
});

test('a wasm served without the application/wasm type still loads (compiled from its bytes)', async () => {
  const { context, page, errors } = await open('/mime.html', { wasmType: 'application/octet-stream' });
  await ready(page);
  assert.equal(await page.evaluate(() => window.funnelcake.flush()), 0);
  const stored = await waitFor(async () => ((await marks('mime')).length ? marks('mime') : null), 10000, 'the event');
  assert.deepEqual(stored.map((e) => e.t), ['early']);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a page with a global `module` and `require` of its own still gets the SDK (the build never looks at them)', async () => {
  const { context, page, errors } = await open('/module.html');
  await ready(page);
  assert.equal(await page.evaluate(() => window.funnelcake.metrics().pageViews), 1);
  assert.deepEqual(await page.evaluate(() => window.module.exports), {}, 'the page\'s own object is left alone');
  assert.deepEqual(errors, []);
  await context.close();
});

test('debug mode names every config adjustment, unknown config key and dropped call on the console; each drop is counted', async () => {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const warnings = [];
  page.on('console', (m) => { if (m.text().startsWith('funnelcake: ')) warnings.push(m.text()); });
  await page.goto(proxy.url + '/debug.html');
  await ready(page);
  const dropped = await page.evaluate(() => window.funnelcake.metrics().dropped.byReason);
  assert.deepEqual(dropped, { missing_name: 1, missing_order_id: 1 });
  await waitFor(() => warnings.length >= 5);
  assert.deepEqual(warnings.sort(), [
    'funnelcake: config.currency is not an allowed value: default used',
    'funnelcake: config.flushAt below its range: raised to the minimum',
    'funnelcake: purchase dropped: missing_order_id',
    'funnelcake: track() needs an event name; call dropped',
    'funnelcake: unknown config.flushInterval',
  ]);
  await context.close();
});

test('a collector on another origin gets the batches gzip, as CORS simple requests, and stores them', async () => {
  const other = await startCollector(['--cors-origins', proxy.url]);
  try {
    PAGES['/cross.html'] = `<!doctype html><html><head><title>cross</title>
<script async src="/funnelcake/funnelcake.js" data-site="cross" data-endpoint="${other.url}/v1/batch"></script></head><body>cross</body></html>`;
    const { context, page, errors } = await open('/cross.html');
    const sent = [];
    page.on('request', (r) => {
      if (r.url().startsWith(other.url)) sent.push({ method: r.method(), url: r.url(), type: r.headers()['content-type'] ?? null });
    });
    await ready(page);
    // flush() resolves 0 only once the collector's answer was read: the CORS response allowed it
    // (without --cors-origins this test fails here).
    assert.equal(await page.evaluate(() => { window.funnelcake.track('cross_event', { mark: 'x-1' }); return window.funnelcake.flush(); }), 0);
    const stored = await waitFor(async () => {
      const events = await storedEvents(other.url, 'cross');
      return events.some((e) => e.props?.mark === 'x-1') ? events : null;
    }, 10000, 'the event at the other origin');
    assert.deepEqual(stored.map((e) => e.t).sort(), ['cross_event', 'page_view']);
    // A POST without a Content-Type (the gzip bytes) or with text/plain and no other header is
    // a CORS simple request: the browser sends it without a preflight.
    assert.ok(sent.length > 0 && sent.every((r) => r.method === 'POST' && /[?&]enc=gzip$/.test(r.url) && r.type === null),
      JSON.stringify(sent));
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    await other.stop();
  }
});

test("works under a strict CSP: script-src 'self' 'wasm-unsafe-eval'", async () => {
  const { context, page, errors } = await open('/csp.html');
  const violations = [];
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
  await ready(page);
  assert.equal(await page.evaluate(() => window.funnelcake.metrics().pageViews), 1);
  assert.deepEqual(violations, []);
  assert.deepEqual(errors, []);
  await context.close();
});

/** With Global Privacy Control on: what localStorage holds and what the collector received. */
async function underGpc(path, site) {
  const { context, page } = await open(path, { gpc: true });
  await ready(page);
  const state = await page.evaluate(async () => {
    const fc = window.funnelcake;
    fc.identify('user-7');
    fc.track('signal_test', { mark: 'gpc' });
    const left = await fc.flush();
    const keys = Object.keys(localStorage).filter((k) => k.startsWith('fc:'));
    return { left, keys, persistent: fc.debugState().persistent };
  });
  await page.waitForTimeout(300);
  const events = await storedEvents(env.collector.url, site);
  await context.close();
  return { ...state, events };
}

test("GPC with privacy 'respect': sent without a user id, nothing persisted", async () => {
  const r = await underGpc('/privacy-respect.html', 'p-respect');
  assert.deepEqual(r.keys, [], 'no fc: keys in localStorage');
  assert.equal(r.persistent, false);
  const ev = r.events.find((e) => e.t === 'signal_test');
  assert.ok(ev, 'the event was sent');
  assert.equal(ev.uid ?? null, null, 'no user id');
});

test("GPC with privacy 'strict': nothing is sent at all", async () => {
  const r = await underGpc('/privacy-strict.html', 'p-strict');
  assert.deepEqual(r.events, []);
  assert.deepEqual(r.keys, []);
});

test("GPC with privacy 'ignore': tracked as usual", async () => {
  const r = await underGpc('/privacy-ignore.html', 'p-ignore');
  assert.ok(r.keys.length > 0, 'state persisted');
  assert.equal(r.events.find((e) => e.t === 'signal_test').uid, 'user-7');
});

test('GTM consent mode: a default that denies holds the landing page view, unstored, until the visitor grants', async () => {
  const { context, page, errors } = await open('/consent-mode.html');
  await ready(page);
  const before = await page.evaluate(async () => ({
    left: await window.funnelcake.flush(),
    keys: Object.keys(localStorage).filter((k) => k.startsWith('fc:')),
    dropped: window.funnelcake.metrics().dropped.total,
  }));
  assert.deepEqual(before, { left: 1, keys: [], dropped: 0 }, 'the page view held in memory, nothing stored');
  // The banner is answered: granted.
  await page.evaluate(async () => { gtag('consent', 'update', { analytics_storage: 'granted' }); await window.funnelcake.flush(); });
  const stored = await waitFor(async () => {
    const events = await storedEvents(env.collector.url, 'consent-mode');
    return events.length ? events : null;
  }, 10000, 'the held page view');
  assert.deepEqual(stored.map((e) => [e.t, e.url]), [['page_view', '/consent-mode.html']]);
  assert.deepEqual(errors, []);
  await context.close();
});

test("consent 'pending' holds events; a gtag consent update grants and sends them", async () => {
  const { context, page, errors } = await open('/consent.html');
  await ready(page);
  const before = await page.evaluate(async () => {
    window.funnelcake.track('while_pending', { mark: 'c-1' });
    const left = await window.funnelcake.flush();
    return { left, keys: Object.keys(localStorage).filter((k) => k.startsWith('fc:')) };
  });
  assert.equal(before.left, 2, 'page view and event held');
  assert.deepEqual(before.keys, [], 'nothing persisted while pending');
  await page.evaluate(async () => {
    window.dataLayer = window.dataLayer || [];
    window.dataLayer.push(['consent', 'update', { analytics_storage: 'granted' }]);
    await window.funnelcake.flush();
  });
  const stored = await waitFor(async () => ((await marks('consent')).length ? marks('consent') : null), 10000, 'the held event');
  assert.deepEqual(stored.map((e) => e.t), ['while_pending']);
  assert.deepEqual(errors, []);
  await context.close();
});
