// node --test: the loader's stub, data-attribute config and replay, with fake window/document.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readTape } from './tape.mjs';

const require = createRequire(import.meta.url);
const loader = require('../loader.js');

function fakePage(url = '/p/1?x=1', title = 'Product 1', referrer = 'https://ref.example/') {
  const [pathname, search = ''] = url.split('?');
  const w = { location: { pathname, search: search ? '?' + search : '' } };
  const d = { title, referrer, currentScript: null };
  return { w, d };
}

function fakeSdk() {
  const calls = [];
  return {
    calls,
    // The loader sends config, properties and context in tape form (js/env.js).
    init: (cfg) => { calls.push(['init', readTape(cfg)]); return true; },
    track: (name, props, ctx) => {
      if (name === 'boom') throw new Error('wasm trap');
      calls.push(['track', name, readTape(props), ctx && readTape(ctx)]);
    },
    flush: () => 0,
    debugState: () => JSON.stringify({ pending: 0 }),
  };
}

test('data-* attributes become a typed config; absent ones stay unset', () => {
  const attrs = { 'data-site': 'shop-1', 'data-endpoint': '/v1/batch', 'data-flush-at': '5', 'data-debug': 'true', 'data-auto-pageviews': 'false' };
  const el = { getAttribute: (k) => (k in attrs ? attrs[k] : null) };
  assert.deepEqual(loader.configFromScript(el), { site: 'shop-1', endpoint: '/v1/batch', flushAt: 5, autoPageviews: false, debug: true });
  assert.deepEqual(loader.configFromScript(null), {});
});

test('the stub queues calls with the page context at call time', () => {
  const { w, d } = fakePage();
  const fc = loader.installStub(w, d);
  fc.track('Added', { a: 1 });
  w.location.pathname = '/later';
  w.location.search = '';
  d.title = 'Later';
  fc.page();
  assert.equal(fc._q.length, 2);
  const [m, ctx, args] = fc._q[0];
  assert.equal(m, 'track');
  assert.deepEqual(args, ['Added', { a: 1 }]);
  assert.equal(ctx.url, '/p/1?x=1');
  assert.equal(ctx.title, 'Product 1');
  assert.equal(ctx.ref, 'https://ref.example/');
  assert.ok(Math.abs(ctx.ts - Date.now()) < 1000);
  assert.equal(fc._q[1][1].url, '/later');
  assert.equal(loader.installStub(w, d), fc, 'installing twice keeps the existing queue');
});

test('the stub is bounded so a never-loading SDK cannot grow the page memory', () => {
  const { w, d } = fakePage();
  const fc = loader.installStub(w, d);
  for (let i = 0; i < 1050; i++) fc.track('e' + i);
  assert.equal(fc._q.length, 1000);
});

test('replay runs calls in order with their captured context, and a queued init wins', async () => {
  const { w, d } = fakePage();
  const fc = loader.installStub(w, d);
  fc.track('first');
  fc.init({ site: 'from-snippet' });
  fc.page({ p: 1 });
  const flushed = fc.flush();
  const sdk = fakeSdk();
  loader.replay(sdk, fc._q.splice(0), { site: 'from-attributes' });
  assert.deepEqual(sdk.calls.map((c) => c[0] + ':' + (c[1]?.site ?? c[1])), ['track:first', 'init:from-snippet', 'track:page_view']);
  assert.deepEqual(sdk.calls[2][2], { p: 1 });
  assert.equal(sdk.calls[0][3].url, '/p/1?x=1');
  assert.equal(await flushed, 0);
});

test('without a queued init the data attributes initialise the SDK first', () => {
  const sdk = fakeSdk();
  loader.replay(sdk, [['track', { ts: 1, url: '/' }, ['x']]], { site: 'shop-1' });
  assert.deepEqual(sdk.calls.map((c) => c[0]), ['init', 'track']);
});

test('a call that throws during replay is dropped and the rest still run', () => {
  const sdk = fakeSdk();
  loader.replay(sdk, [['track', {}, ['boom']], ['track', {}, ['after']]], {});
  assert.deepEqual(sdk.calls.map((c) => c[1]), ['after']);
});

test('the real API never throws into the page, even if the wasm traps', async () => {
  const api = loader.realApi(fakeSdk());
  assert.doesNotThrow(() => api.track('boom'));
  const broken = loader.realApi({ init() { throw new Error('x'); }, flush() { throw new Error('x'); } });
  assert.equal(broken.init({}), false);
  assert.equal(await broken.flush(), 0);
});

test("GTM consent mode in the dataLayer reaches the SDK right after init, in the same task (before init's state is written)", () => {
  const sdk = fakeSdk();
  sdk.consent = (state) => sdk.calls.push(['consent', state]);
  const w = { dataLayer: [['consent', 'default', { analytics_storage: 'denied' }]], addEventListener() {} };
  loader.realApi(sdk, w, {}).init({ site: 's' });
  assert.deepEqual(sdk.calls.map((c) => c[0]), ['init', 'consent']);
  assert.equal(sdk.calls[1][1], 'pending', 'a default that does not grant waits for the update');
});

test('a queued call the capture cancels (its SDK cleared) is not recorded; the others are, in order', async () => {
  const sdk = fakeSdk();
  const api = loader.realApi(sdk, { addEventListener() {} }, {});
  api.track('first');
  const w = { dataLayer: [], addEventListener() {} };
  // The capture's recorder answers the queued call: a UA push, then its GA4 twin in the same task.
  const ua = { event: 'addToCart', ecommerce: { add: { products: [{ id: 'P1' }] } } };
  const ga4 = { event: 'add_to_cart', ecommerce: { items: [{ item_id: 'P1' }] } };
  loader.realApi(sdk, w, {}).init({ site: 's' });
  w.dataLayer.push(ua, { ecommerce: null }, ga4);
  assert.equal(api.track('last'), undefined, 'the page gets nothing of the queued call');
  api.flush();
  assert.deepEqual(sdk.calls.filter((c) => c[0] === 'track').map((c) => c[1]), ['first', 'add_to_cart', 'last']);
  assert.equal(sdk.calls.find((c) => c[1] === 'add_to_cart')[2].items[0].item_id, 'P1', 'the GA4 call');
});

test('on(): listeners hear the snapshot after every call that records, in order; off() ends it', async () => {
  const sdk = fakeSdk();
  let n = 0;
  sdk.metrics = () => JSON.stringify({ n: ++n });
  sdk.consent = () => {};
  sdk.reset = () => {};
  const api = loader.realApi(sdk);
  const heard = [];
  assert.equal(typeof api.on('other', () => {}), 'function', 'a no-op for other events');
  assert.equal(typeof api.on('metrics', 'not a function'), 'function');
  const offThrowing = api.on('metrics', () => { throw new Error('page bug'); });
  const off = api.on('metrics', (m) => heard.push(['a', m.n]));
  const offB = api.on('metrics', (m) => heard.push(['b', m.n]));
  api.track('x');
  api.track('y');
  assert.deepEqual(heard, [], 'the calls only captured');
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(heard, [['a', 1], ['b', 1], ['a', 2], ['b', 2]], 'one snapshot per recorded call, shared, in subscription order');
  offB();
  api.consent('granted');
  api.reset();
  api.init({ site: 's' });
  assert.deepEqual(heard.slice(4), [['a', 3], ['a', 4], ['a', 5]], 'consent, reset and init (its page view) too');
  off();
  offThrowing();
  api.track('z');
  await api.flush();
  assert.equal(heard.length, 7, 'unsubscribed: nothing more');
});

test('boot leaves a harmless stub when WebAssembly is unavailable', () => {
  const { w, d } = fakePage();
  const saved = globalThis.WebAssembly;
  try {
    globalThis.WebAssembly = undefined;
    d.currentScript = { src: 'https://shop.example/funnelcake/funnelcake.js', getAttribute: () => null };
    loader.boot(w, d);
    assert.equal(w.funnelcake._stub, true);
    assert.doesNotThrow(() => w.funnelcake.track('x'));
  } finally {
    globalThis.WebAssembly = saved;
  }
});

test('helpers replay as track() of their canonical event with the captured context', () => {
  const { w, d } = fakePage('/checkout');
  const fc = loader.installStub(w, d);
  fc.addToCart({ id: 'SKU-1' });
  fc.checkoutStep('shipping', { shipping_tier: 'ground' });
  fc.search('boots');
  fc.page();
  fc.identify('u-1');
  fc.identify(42);
  fc.identify(NaN);
  fc.identify('é'.repeat(300)); // cut: one near the event size limit would make every event too large
  fc.identify({ id: 'u-1' });
  const calls = [];
  const sdk = fakeSdk();
  for (const m of ['track', 'identify']) sdk[m] = (n, p, ctx) => calls.push([m, n, readTape(p), readTape(ctx)]);
  loader.replay(sdk, fc._q.splice(0), {});
  assert.deepEqual(calls.map((c) => [c[0], c[1], c[2]]), [
    ['track', 'add_to_cart', { id: 'SKU-1' }],
    ['track', 'Checkout Step Completed', { shipping_tier: 'ground', step: 'shipping' }],
    ['track', 'search', { search_term: 'boots' }],
    ['track', 'page_view', undefined],
    ['identify', 'u-1', undefined],
    ['identify', '42', undefined],
    ['identify', null, undefined],
    ['identify', 'é'.repeat(256), undefined],
    ['identify', null, undefined],
  ]);
  assert.ok(calls.every((c) => c[3].url === '/checkout'), 'context last');
});

test('every helper maps to a canonical event (or the Segment name the SDK maps)', () => {
  const sdk = fakeSdk();
  const api = loader.realApi(sdk);
  for (const m of loader.HELPERS) api[m]({});
  assert.deepEqual(api.debugState(), { pending: 0 }, 'the JSON text of the wasm, parsed'); // records what is pending
  assert.deepEqual(sdk.calls.map((c) => c[1]), [
    'page_view', 'view_item', 'add_to_cart', 'remove_from_cart', 'view_cart', 'begin_checkout',
    'Checkout Step Completed', 'purchase', 'refund', 'search',
  ]);
  sdk.metrics = () => null; // the wasm before its init
  assert.equal(api.metrics(), null);
});

test('recording calls return at once; the wasm records them in order in the next task, or sooner when state is read', async () => {
  const sdk = fakeSdk();
  sdk.metrics = () => JSON.stringify({ n: sdk.calls.length });
  const listeners = {};
  const w = { addEventListener: (type, fn, capture) => { listeners[type] = [fn, capture]; } };
  const api = loader.realApi(sdk, w, {});
  api.track('a', { n: 1 });
  api.viewItem({ item_id: 'X' });
  assert.deepEqual(sdk.calls, [], 'nothing crossed into the wasm during the calls');
  assert.deepEqual(api.metrics(), { n: 2 }, 'metrics() sees every earlier call');
  assert.deepEqual(sdk.calls.map((c) => c[1]), ['a', 'view_item']);
  const props = { big: 'x'.repeat(10), items: [{ id: 1 }] };
  api.track('b', props);
  props.big = 'changed after the call';
  props.items[0].id = 2;
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(sdk.calls.map((c) => c[1]), ['a', 'view_item', 'b'], 'recorded by the next task');
  assert.deepEqual(sdk.calls[2][2], { big: 'xxxxxxxxxx', items: [{ id: 1 }] }, 'properties as they were at the call');
  api.track('c');
  let hide = listeners.pagehide;
  assert.ok(hide && hide[1] === true, 'page hide is heard in the capture phase');
  const signals = [];
  sdk.lifecycle = (code) => signals.push([code, sdk.calls.length]);
  hide[0]();
  assert.deepEqual(sdk.calls.map((c) => c[1]), ['a', 'view_item', 'b', 'c']);
  assert.deepEqual(signals, [[2, 4]], 'the SDK hears page hide after the held calls are recorded');
  assert.ok(listeners.visibilitychange && listeners.visibilitychange[1] === true);
  listeners.visibilitychange[0]();
  listeners.storage[0]();
  hide[0]({ persisted: true });
  assert.deepEqual(signals.slice(1), [[0, 4], [4, 4], [3, 4]],
    'visible (no document.hidden), another tab wrote storage, page hide into the back/forward cache');
  sdk.lifecycle = () => { throw new Error('wasm trap'); };
  hide[0](); // a trap in the SDK's handling stays out of the page's event dispatch
  for (let i = 0; i < 250; i++) api.track('burst');
  assert.ok(sdk.calls.length >= 4 + 200, 'a page that never yields gets its calls recorded in chunks');
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(sdk.calls.length, 4 + 250);
  // A listener that tracks while the queue is being recorded keeps the page's order.
  sdk.track = (name) => { sdk.calls.push(['track', name]); if (name === 'first') api.track('from-listener'); };
  api.track('first');
  api.track('second');
  await api.flush();
  assert.deepEqual(sdk.calls.slice(-3).map((c) => c[1]), ['first', 'second', 'from-listener']);
});

test('an SPA page view still held for the title is recorded before a page hide, flush() or metrics() in the same task', async () => {
  // A checkout that pushes its next step and leaves for a payment page in one task: the view
  // waits for a 0 ms timer that never runs. Whatever hands the SDK its state releases it first.
  function spa() {
    const sdk = fakeSdk();
    sdk.metrics = () => JSON.stringify({ n: sdk.calls.length });
    sdk.lifecycle = (code) => sdk.calls.push(['lifecycle', code]);
    const listeners = {};
    const { w, d } = fakePage('/checkout?step=contact', 'Contact');
    w.location.origin = 'https://shop.example';
    w.history = {
      pushState(state, title, url) {
        const [path, query] = url.split('?');
        w.location.pathname = path;
        w.location.search = query ? '?' + query : '';
      },
    };
    w.addEventListener = (type, fn) => { listeners[type] = fn; };
    const api = loader.realApi(sdk, w, d);
    api.init({ site: 's', dataLayer: false });
    sdk.calls.length = 0;
    w.history.pushState({}, '', '/checkout?step=pay');
    d.title = 'Pay';
    return { sdk, api, listeners };
  }
  const views = (sdk) => sdk.calls.filter((c) => c[1] === 'page_view').map((c) => [c[3].url, c[3].title]);
  const hidden = spa();
  hidden.listeners.pagehide({ persisted: false });
  assert.deepEqual(views(hidden.sdk), [['/checkout?step=pay', 'Pay']]);
  assert.deepEqual(hidden.sdk.calls.map((c) => c[0]), ['track', 'lifecycle'], 'the view, then the hide that sends it');
  const flushed = spa();
  flushed.api.flush();
  assert.deepEqual(views(flushed.sdk), [['/checkout?step=pay', 'Pay']]);
  const read = spa();
  assert.deepEqual(read.api.metrics(), { n: 1 }, 'metrics() counts the view');
  await new Promise((r) => setTimeout(r, 5));
  for (const { sdk } of [hidden, flushed, read]) assert.equal(views(sdk).length, 1, 'and once only');
});

test('experiment(): control before ready; onAssign hears the real assignment on replay', () => {
  const { w, d } = fakePage('/cart?fc_exp_btn=1');
  const fc = loader.installStub(w, d);
  const opts = { variations: ['Checkout', 'Buy now'] };
  assert.deepEqual(fc.experiment('btn', opts), { variation: 0, value: 'Checkout', inExperiment: false });
  assert.equal(fc._q.length, 0, 'without onAssign the visitor saw control and is not measured');
  const heard = [];
  fc.experiment('btn', { variations: ['Checkout', 'Buy now'], onAssign: (r) => heard.push(r) });
  const sdk = fakeSdk();
  sdk.experiment = (key, o, ctx) => { sdk.calls.push(['experiment', key, readTape(ctx).url]); return 1; };
  loader.replay(sdk, fc._q.splice(0), {});
  assert.deepEqual(sdk.calls, [['experiment', 'btn', '/cart?fc_exp_btn=1']]);
  assert.deepEqual(heard, [{ variation: 1, value: 'Buy now', inExperiment: true }]);
});

test('experiment() after ready never throws and falls back to control', () => {
  const sdk = fakeSdk();
  const api = loader.realApi(sdk);
  sdk.experiment = () => -1;
  assert.deepEqual(api.experiment('k', { variations: 2 }), { variation: 0, value: 0, inExperiment: false });
  sdk.experiment = () => { throw new Error('trap'); };
  assert.deepEqual(api.experiment('k', { variations: ['a', 'b'] }), { variation: 0, value: 'a', inExperiment: false });
  sdk.experiment = () => 1;
  const r = api.experiment('k', { variations: ['a', 'b'], onAssign: () => { throw new Error('page bug'); } });
  assert.deepEqual(r, { variation: 1, value: 'b', inExperiment: true }, 'a throwing onAssign keeps the result');
});

test('on() before the SDK is ready subscribes on replay, and its unsubscribe still works', () => {
  const { w, d } = fakePage();
  const fc = loader.installStub(w, d);
  const sdk = fakeSdk();
  sdk.metrics = () => JSON.stringify({ pageViews: sdk.calls.length });
  const delivered = [];
  const cb = (m) => delivered.push(m);
  const off = fc.on('metrics', cb);
  const cancelled = fc.on('metrics', () => delivered.push('cancelled'));
  cancelled(); // before ready: never subscribed
  assert.equal(fc.metrics(), null, 'no snapshot before the SDK is ready');
  loader.replay(sdk, fc._q.splice(0), {});
  assert.deepEqual(delivered, [{ pageViews: 0 }], 'the current snapshot is delivered once on replay');
  loader.replay(sdk, [['track', {}, ['later']]], {});
  assert.deepEqual(delivered, [{ pageViews: 0 }, { pageViews: 1 }], 'and after each recorded call');
  off();
  loader.replay(sdk, [['track', {}, ['after off']]], {});
  assert.equal(delivered.length, 2, 'unsubscribed through the stub\'s function');
});

test('a prerendered page starts the SDK only once it is shown (prerenderingchange)', async () => {
  const { w, d } = fakePage();
  const heard = {};
  d.prerendering = true;
  d.addEventListener = (type, fn) => { heard[type] = [fn]; };
  const sdk = fakeSdk();
  loader.attach(w, d, () => Promise.resolve(sdk), { site: 'shop-1' });
  w.funnelcake.track('while_prerendered');
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(sdk.calls, [], 'nothing recorded while the page is not shown');
  assert.equal(w.funnelcake._stub, true, 'the stub keeps queueing');
  d.prerendering = false;
  heard.prerenderingchange[0]();
  assert.deepEqual(sdk.calls.map((c) => c[0] + ' ' + (c[1].site || c[1])), ['init shop-1', 'track while_prerendered']);
  assert.equal(w.funnelcake.ready, true);
});

test('every public method exists on the stub and on the real API', () => {
  const { w, d } = fakePage();
  const stub = loader.installStub(w, d);
  const sdk = fakeSdk();
  const methods = ['init', 'reset', 'flush', 'on', 'metrics', ...loader.RECORDING];
  for (const m of methods) sdk[m] = sdk[m] || (() => {});
  const api = loader.realApi(sdk);
  for (const m of methods) {
    assert.equal(typeof stub[m], 'function', 'stub.' + m);
    assert.equal(typeof api[m], 'function', 'api.' + m);
  }
});

test('the inline snippet (js/snippet.js) queues calls the loader adopts and replays', async () => {
  const { readFileSync } = await import('node:fs');
  const vm = await import('node:vm');
  const { w, d } = fakePage('/cart');
  const src = readFileSync(new URL('../snippet.js', import.meta.url), 'utf8');
  vm.runInNewContext(src, { window: w, document: d, Promise, Date, Array });
  const fc = w.funnelcake;
  assert.deepEqual(Object.keys(fc).filter((k) => !k.startsWith('_')).sort(), ['init', 'reset', 'flush', 'on', 'metrics', ...loader.RECORDING].sort(), 'every API method');
  fc.track('Early', { a: 1 });
  assert.equal(fc.metrics(), null);
  assert.deepEqual({ ...fc.experiment('btn', { variations: ['x', 'y'] }) }, { variation: 0, value: 'x', inExperiment: false });
  const flushed = fc.flush();
  assert.equal(loader.installStub(w, d), fc, 'the loader keeps the snippet and its queue');
  const sdk = fakeSdk();
  loader.replay(sdk, fc._q.splice(0), { site: 's' });
  assert.deepEqual(sdk.calls.map((c) => c[0] + ':' + (c[1]?.site ?? c[1])), ['init:s', 'track:Early']);
  assert.equal(sdk.calls[1][3].url, '/cart');
  assert.equal(await flushed, 0);
});

test('the snippet minifies under 1 KB, and the demo cart page inlines the current version', async () => {
  const { readFileSync } = await import('node:fs');
  const { minify } = require('terser');
  const src = readFileSync(new URL('../snippet.js', import.meta.url), 'utf8');
  const { code } = await minify(src, { enclose: true, compress: true, mangle: true });
  assert.ok(code.length < 1024, `${code.length} bytes`);
  const cart = readFileSync(new URL('../../www/cart.html', import.meta.url), 'utf8');
  assert.ok(cart.includes(`<script>${code}</script>`), 'www/cart.html carries the minified js/snippet.js');
});

test('consent() called before the SDK is ready is replayed in order', () => {
  const { w, d } = fakePage();
  const fc = loader.installStub(w, d);
  fc.consent('pending');
  fc.track('held');
  fc.consent('granted');
  const sdk = fakeSdk();
  sdk.consent = (s) => sdk.calls.push(['consent', s]);
  loader.replay(sdk, fc._q.splice(0), {});
  assert.deepEqual(sdk.calls.map((c) => c[0] + ':' + c[1]), ['consent:pending', 'track:held', 'consent:granted']);
});

test('copy(): a bounded plain copy in tape form, whatever the page passes', () => {
  const cyclic = { name: 'x' };
  cyclic.self = cyclic;
  let deep = {};
  const root = deep;
  for (let i = 0; i < 50; i++) deep = deep.next = {};
  const hostile = { ok: 1, get bad() { throw new Error('getter'); } };
  const big = {};
  for (let i = 0; i < 500; i++) big['k' + i] = i;
  const parsed = (v) => readTape(loader.copy(v));
  assert.equal(parsed(cyclic).self.self.self.name, 'x', 'a cycle is cut by depth, not an error');
  assert.equal(JSON.stringify(parsed(root)).split('next').length - 1, 8, 'depth 8 at most');
  assert.deepEqual(parsed(hostile), { ok: 1 });
  assert.equal(Object.keys(parsed(big)).length, 100);
  assert.deepEqual(parsed({ n: NaN, i: Infinity, b: 10n, f() {}, s: Symbol('x'), u: undefined, a: [1, undefined, () => 1] }),
    { n: null, i: null, b: null, a: [1, null, null] });
  for (const v of [undefined, null, 5, 'text', [1, 2], () => {}]) assert.equal(loader.copy(v), undefined, String(v));
  // toJSON as JSON.stringify uses it: a Date's ISO text, a decimal type's digits, a model's
  // attributes (also for the whole argument); a toJSON that throws skips its member, one that
  // returns itself is cut by depth.
  const decimal = { digits: '19.90', toJSON() { return this.digits; } };
  const model = { cid: 'c1', attributes: { sku: 'TR-1' }, toJSON() { return { ...this.attributes, price: decimal }; } };
  assert.deepEqual(parsed({ at: new Date(Date.UTC(2026, 10, 23, 12)), price: decimal, bad: new Date(NaN), model,
    thrown: { toJSON() { throw new Error('x'); } }, itself: { toJSON() { return this; } }, ok: 1 }),
  { at: '2026-11-23T12:00:00.000Z', price: '19.90', bad: null, model: { sku: 'TR-1', price: '19.90' }, itself: null, ok: 1 });
  assert.deepEqual(parsed(model), { sku: 'TR-1', price: '19.90' });
  const proxy = new Proxy({}, { ownKeys() { throw new Error('trap'); } });
  assert.equal(loader.copy(proxy), undefined, 'a hostile proxy gives no properties, no exception');
});

test('init hands the wasm the privacy signal and the visibility with the page context; js/env.js the window', () => {
  const env = require('../env.js');
  const inits = [], stored = [];
  const sdk = { init: (cfg, ctx) => { inits.push(readTape(ctx)); stored.push(env.get('k')); return false; } };
  const cases = [
    [{ navigator: { globalPrivacyControl: true } }, { hidden: true }, { signal: true, hidden: true }],
    [{ navigator: { doNotTrack: '1' } }, {}, { signal: true, hidden: false }],
    [{ navigator: {}, doNotTrack: '1' }, { hidden: false }, { signal: true, hidden: false }],
    [{ navigator: { doNotTrack: '0', globalPrivacyControl: false } }, {}, { signal: false, hidden: false }],
    [{ get navigator() { throw new Error('blocked'); } }, {}, { signal: false, hidden: false }],
  ];
  cases.forEach(([w], i) => { if (i < 4) w.localStorage = { getItem: (k) => k + i }; });
  for (const [w, d] of cases) loader.realApi(sdk, w, d).init({ site: 's' });
  assert.deepEqual(inits, cases.map((c) => c[2]));
  assert.deepEqual(stored, ['k0', 'k1', 'k2', 'k3', null], 'storage is read from the window init runs with');
});

test('debug mode names each config key that is no option (all are ignored); without debug, none', () => {
  const warned = [];
  const w = { console: { warn: (m) => warned.push(m) }, navigator: {} };
  const sdk = { init: () => true };
  const api = loader.realApi(sdk, w, {});
  api.init({ site: 's', debug: true, flushInterval: 1000, flushAt: 5, funnels: [], autoPageviews: false, dataLayer: false });
  assert.deepEqual(warned, ['funnelcake: unknown config.flushInterval']);
  warned.length = 0;
  api.init({ site: 's', flushInterval: 1000, autoPageviews: false, dataLayer: false });
  assert.deepEqual(warned, [], 'debug off: nothing logged');
  api.init({ site: 's', debug: true, flushInterval: 1000, autoPageviews: false, dataLayer: false });
  assert.equal(warned.length, 1, 'every init names them');
  const failing = loader.realApi({ init: () => false }, w, {});
  warned.length = 0;
  failing.init({ debug: true, nope: 1 });
  assert.deepEqual(warned, [], 'an init that failed says why itself');
});

test('the options the loader knows are the ones the core reads (core/src/config.rs Config::from_value)', async () => {
  const { readFileSync } = await import('node:fs');
  const src = readFileSync(new URL('../../core/src/config.rs', import.meta.url), 'utf8');
  const body = src.slice(src.indexOf('pub fn from_value'), src.indexOf('pub fn resolve', src.indexOf('pub fn from_value')));
  const keys = [...new Set([...body.matchAll(/(?:text|boolean|take)\("(\w+)"|clamp\(&v, "(\w+)"/g)].map((m) => m[1] || m[2]))];
  assert.ok(keys.length >= 16, `found ${keys}`);
  const warned = [];
  const w = { console: { warn: (m) => warned.push(m) }, navigator: {} };
  const cfg = { debug: true, autoPageviews: false, dataLayer: false };
  for (const k of keys) if (!(k in cfg)) cfg[k] = null;
  loader.realApi({ init: () => true }, w, {}).init(cfg);
  assert.deepEqual(warned, [], 'no option the core reads is called unknown');
});
