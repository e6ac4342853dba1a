// node --test: dataLayer and SPA capture (js/capture.js), one test per mapping row of
// DESIGN.md §5, with a recorder standing in for the SDK.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const capture = require('../capture.js');

/** Runs `entries` through a fresh dataLayer watcher; returns the recorded [method, args]. */
function run(entries, later = []) {
  const queued = [];
  const dl = [...entries];
  // As the loader's recorder: the call queued until the task ends, `[sdk, method, event, …]`,
  // which the capture may cancel by clearing its first member (all these pushes are one task).
  capture.watchDataLayer(dl, (m, a) => {
    const call = [true, m, a[0], a];
    queued.push(call);
    return call;
  });
  for (const e of later) dl.push(e);
  return { calls: queued.filter((c) => c[0]).map((c) => [c[1], c[3]]), dl };
}

const item = { item_id: 'SKU-1', item_name: 'Trail Runner', price: 119, quantity: 1 };

for (const ev of capture.GA4) {
  test(`GA4 dataLayer.push({event: '${ev}', ecommerce}) → track('${ev}')`, () => {
    const ecommerce = { currency: 'USD', value: 119, items: [item] };
    const { calls } = run([], [{ event: ev, ecommerce }]);
    assert.deepEqual(calls, [['track', [ev, ecommerce]]]);
  });
}

test('pushes made before the SDK loaded are replayed in order, later pushes are heard', () => {
  const { calls, dl } = run(
    [{ event: 'view_item', ecommerce: { items: [item] } }, { event: 'add_to_cart', ecommerce: { items: [item] } }],
    [{ event: 'begin_checkout', ecommerce: { items: [item] } }]);
  assert.deepEqual(calls.map((c) => c[1][0]), ['view_item', 'add_to_cart', 'begin_checkout']);
  assert.equal(dl.length, 3, 'the page still sees its own pushes');
});

test('{ecommerce: null} clears the previous ecommerce object (GTM data model)', () => {
  const { calls } = run([], [
    { ecommerce: { currency: 'USD', items: [item] } },
    { event: 'view_item' }, // takes the ecommerce pushed before it
    { ecommerce: null },
    { event: 'view_cart' }, // cleared: no items leak from the previous event
  ]);
  assert.deepEqual(calls, [['track', ['view_item', { currency: 'USD', items: [item] }]], ['track', ['view_cart', {}]]]);
});

test('GA4 parameters outside ecommerce (search_term) are kept; gtm.* keys are not', () => {
  const { calls } = run([], [{ event: 'search', search_term: 'boots', 'gtm.uniqueEventId': 7 }]);
  assert.deepEqual(calls, [['track', ['search', { search_term: 'boots' }]]]);
});

test("gtag('event', name, params) entries (the arguments object) → track", () => {
  function gtag() { return arguments; }
  const params = { currency: 'EUR', value: 9.5, items: [item] };
  const { calls } = run([gtag('js', new Date()), gtag('config', 'G-XYZ')], [gtag('event', 'add_to_cart', params), gtag('event', 'custom_thing', {})]);
  assert.deepEqual(calls, [['track', ['add_to_cart', params]]]);
});

test("gtag('consent', …, {analytics_storage}) → consent(): a default that does not grant is pending, an update decides", () => {
  function gtag() { return arguments; }
  const { calls } = run([gtag('consent', 'default', { analytics_storage: 'denied' }), gtag('consent', 'default', { ad_storage: 'denied' })],
    [gtag('consent', 'update', { analytics_storage: 'granted' }), gtag('consent', 'update', { analytics_storage: 'denied' }),
      gtag('consent', 'default', { analytics_storage: 'granted' })]);
  assert.deepEqual(calls, [['consent', ['pending']], ['consent', ['granted']], ['consent', ['denied']], ['consent', ['granted']]]);
});

const uaProduct = { id: 'P1', name: 'Fleece', category: 'Apparel/Men', price: '74.00', quantity: 2 };
const UA_ROWS = [
  ['impressions', [uaProduct], ['track', ['view_item_list', { items: [uaProduct] }]]],
  ['click', { actionField: { list: 'Search' }, products: [uaProduct] }, ['track', ['select_item', { items: [uaProduct], item_list_name: 'Search' }]]],
  ['detail', { products: [uaProduct] }, ['track', ['view_item', { items: [uaProduct] }]]],
  ['add', { products: [uaProduct] }, ['track', ['add_to_cart', { items: [uaProduct] }]]],
  ['remove', { products: [uaProduct] }, ['track', ['remove_from_cart', { items: [uaProduct] }]]],
  ['checkout', { actionField: { step: 1 }, products: [uaProduct] }, ['track', ['begin_checkout', { items: [uaProduct] }]]],
  ['checkout', { actionField: { step: 2 }, products: [uaProduct] }, ['track', ['add_shipping_info', { items: [uaProduct] }]]],
  ['checkout', { actionField: { step: 3, option: 'Visa' } }, ['track', ['add_payment_info', {}]]],
  ['checkout', { actionField: { step: '4' } }, ['checkoutStep', [4, {}]]],
  ['purchase', { actionField: { id: 'T-1', revenue: '148.00', tax: '10', shipping: '5', coupon: 'X' }, products: [uaProduct] },
    ['track', ['purchase', { items: [uaProduct], transaction_id: 'T-1', value: '148.00', tax: '10', shipping: '5', coupon: 'X' }]]],
  ['refund', { actionField: { id: 'T-1' } }, ['track', ['refund', { transaction_id: 'T-1' }]]],
  ['promoView', { promotions: [{ id: 'PR1', name: 'Sale' }] }, ['track', ['view_promotion', { items: [{ id: 'PR1', name: 'Sale' }] }]]],
  ['promoClick', { promotions: [{ id: 'PR1' }] }, ['track', ['select_promotion', { items: [{ id: 'PR1' }] }]]],
];

/** Drops undefined members, as the SDK's converter does. */
function defined(call) {
  const [m, [a, b]] = call;
  const clean = (o) => (o && typeof o === 'object' && !Array.isArray(o) ? Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) : o);
  return [m, b === undefined ? [clean(a)] : [clean(a), clean(b)]];
}

for (const [action, payload, want] of UA_ROWS) {
  test(`Universal Analytics ecommerce.${action}${payload.actionField?.step ? ' step ' + payload.actionField.step : ''} → ${want[1][0]}`, () => {
    const { calls } = run([], [{ event: 'gtm.ua', ecommerce: { currencyCode: 'USD', [action]: payload } }]);
    assert.equal(calls.length, 1);
    const got = defined(calls[0]);
    const props = got[1][got[1].length - 1];
    assert.equal(props.currency, 'USD', 'currencyCode becomes currency');
    delete props.currency;
    assert.deepEqual(got, want);
  });
}

test('a UA ecommerce object is recorded once, by its push, not again by the events after it (gtm.js, gtm.dom, gtm.load)', () => {
  // The classic UA product page: the detail pushed without an event, read by the page view tag.
  const { calls } = run([{ ecommerce: { detail: { products: [uaProduct] } } }],
    [{ event: 'gtm.js' }, { event: 'gtm.dom' }, { event: 'gtm.load' }, { event: 'scroll_depth' }, { event: 'view_item' }]);
  assert.deepEqual(calls.map(defined), [['track', ['view_item', { items: [uaProduct] }]]]);
});

test('a UA push with impressions or promotion views beside its action records each of them', () => {
  const related = [{ id: 'R1' }];
  const { calls } = run([], [{ event: 'gtm.ua', ecommerce: { impressions: related, promoView: { promotions: [{ id: 'PR1' }] }, detail: { products: [uaProduct] } } }]);
  assert.deepEqual(calls.map(defined), [
    ['track', ['view_item_list', { items: related }]],
    ['track', ['view_item', { items: [uaProduct] }]],
    ['track', ['view_promotion', { items: [{ id: 'PR1' }] }]],
  ]);
});

test("a GA4 event name with a UA ecommerce object ({event: 'purchase', ecommerce: {purchase: {actionField}}}) is read as UA", () => {
  const { calls } = run([], [{ event: 'purchase', ecommerce: { purchase: { actionField: { id: 'T-9', revenue: '74.00' }, products: [uaProduct] } } },
    { event: 'purchase' }]);
  assert.deepEqual(calls.map(defined), [['track', ['purchase', { items: [uaProduct], transaction_id: 'T-9', value: '74.00' }]]]);
});

test('a page tagged in both dialects records each action once, as GA4 has it (in either order within a task, and once GA4 is known)', () => {
  const ga4Item = { item_id: 'P1', item_name: 'Fleece', price: 74 };
  const { calls } = run(
    // Before the SDK loaded: the product page's UA detail first, then its GA4 twin.
    [{ event: 'gtm4wp.changeDetailViewEEC', ecommerce: { currencyCode: 'EUR', detail: { products: [uaProduct] } } },
      { ecommerce: null }, { event: 'view_item', ecommerce: { currency: 'EUR', items: [ga4Item] } }],
    [{ ecommerce: null }, { event: 'add_to_cart', ecommerce: { currency: 'EUR', items: [ga4Item] } },
      { ecommerce: null }, { event: 'gtm4wp.addProductToCartEEC', ecommerce: { currencyCode: 'EUR', add: { products: [uaProduct] } } },
      // UA first, GA4 second, in one task (a click's pushes): the UA call is cancelled.
      { ecommerce: null }, { event: 'productClick', ecommerce: { click: { products: [uaProduct] } } },
      { ecommerce: null }, { event: 'select_item', ecommerce: { currency: 'EUR', items: [ga4Item] } },
      // UA checkout steps 2 and 3 are GA4's add_shipping_info and add_payment_info, in either order.
      { ecommerce: null }, { event: 'checkout', ecommerce: { checkout: { actionField: { step: 2 } } } },
      { ecommerce: null }, { event: 'add_shipping_info', ecommerce: { currency: 'EUR', items: [ga4Item] } },
      { ecommerce: null }, { event: 'add_payment_info', ecommerce: { currency: 'EUR', items: [ga4Item] } },
      { ecommerce: null }, { event: 'checkout', ecommerce: { checkout: { actionField: { step: 3 } } } },
      // A UA action with no GA4 twin on this page (a store migrated in part) is still recorded.
      { ecommerce: null }, { event: 'gtm4wp.removeFromCartEEC', ecommerce: { remove: { products: [uaProduct] } } }]);
  assert.deepEqual(calls.map((c) => [c[1][0], c[1][1].currency]),
    [['view_item', 'EUR'], ['add_to_cart', 'EUR'], ['select_item', 'EUR'], ['add_shipping_info', 'EUR'],
      ['add_payment_info', 'EUR'], ['remove_from_cart', undefined]]);
  assert.deepEqual(calls[0][1][1].items, [ga4Item], 'the GA4 push, not the UA one');
});

test("GA4's user_id (gtag config, set or event parameters, a GTM push) → identify; null signs out", () => {
  function gtag() { return arguments; }
  const ecommerce = { currency: 'USD', items: [item] };
  const { calls } = run([gtag('js', new Date()), gtag('config', 'G-XYZ', { user_id: 'U-1' })], [
    gtag('set', { user_id: 42 }),
    gtag('set', 'user_properties', { tier: 'gold' }), // no user id: nothing
    gtag('event', 'add_to_cart', { user_id: 'U-2', items: [item] }),
    { event: 'login', user_id: 'U-3' },
    { user_id: undefined }, // GTM's variable for a visitor not signed in: nothing
    { event: 'view_item', ecommerce, user_id: null },
  ]);
  assert.deepEqual(calls, [
    ['identify', ['U-1']],
    ['identify', [42]],
    ['identify', ['U-2']],
    ['track', ['add_to_cart', { user_id: 'U-2', items: [item] }]],
    ['identify', ['U-3']],
    ['identify', [null]],
    ['track', ['view_item', { user_id: null, ...ecommerce }]],
  ], 'the id first, so the event it came with carries it');
});

test('odd dataLayer contents are ignored without throwing', () => {
  const hostile = { get event() { throw new Error('getter'); } };
  const deep = {}; let cur = deep; for (let i = 0; i < 500; i++) cur = cur.next = {};
  const cyclic = { event: 'view_item', ecommerce: {} }; cyclic.ecommerce.self = cyclic;
  const { calls } = run([null, undefined, 42, 'string', [], [null], hostile, deep, { event: 12 }, { event: 'gtm.js' }, { event: 'unknown_event', x: 1 },
    { ecommerce: 'not an object' }, { event: 'view_item', ecommerce: { items: 'nope', value: 'NaN' } }, cyclic,
    { ecommerce: null }, { ecommerce: { checkout: { actionField: 'step 2' } } }, { ecommerce: { add: { actionField: null } } },
    ['consent', 'update', 'granted'], ['consent', 'update', null], { user_id: { get toString() { throw new Error('getter'); } } }]);
  // The two view_item entries and the UA objects are ours; their odd values are for the SDK to
  // normalise (an actionField that is not an object has no fields). A consent without its
  // object is not one, and a user id whose text cannot be read is dropped.
  assert.deepEqual(calls.map((c) => c[1][0]), ['view_item', 'view_item', 'begin_checkout', 'add_to_cart']);
});

/** A fake window with a History API that updates location like a browser. */
function fakeWindow(path = '/') {
  const listeners = {};
  const w = {
    location: { origin: 'https://shop.example', pathname: path, search: '' },
    addEventListener: (t, f) => { listeners[t] = f; },
    history: {},
    listeners,
  };
  const go = (url) => { const u = new URL(url, 'https://shop.example'); w.location.pathname = u.pathname; w.location.search = u.search; };
  w.history.pushState = function (s, t, url) { go(url); };
  w.history.replaceState = function (s, t, url) { go(url); };
  w.back = (url) => { go(url); listeners.popstate(); };
  return w;
}

const tick = () => new Promise((r) => setTimeout(r, 0));

test('SPA navigation: one page view per path/query change, previous page as referrer, no duplicates', async () => {
  const w = fakeWindow('/');
  const d = { title: 'Home' };
  const views = [];
  capture.watchHistory(w, d, (m, a, ctx) => views.push([m, ctx.url, ctx.ref, ctx.title]));
  w.history.pushState({}, '', '/c/boots');
  d.title = 'Boots'; // the app renders after navigating: the view takes the new title
  await tick();
  w.history.replaceState({ scroll: 10 }, '', '/c/boots'); // same URL: no page view
  w.history.pushState({}, '', '/c/boots#reviews'); // hash only: no page view
  w.history.pushState({}, '', '/c/boots?page=2');
  await tick();
  d.title = 'Home';
  w.back('/');
  await tick();
  assert.deepEqual(views, [
    ['page', '/c/boots', 'https://shop.example/', 'Boots'],
    ['page', '/c/boots?page=2', 'https://shop.example/c/boots', 'Boots'],
    ['page', '/', 'https://shop.example/c/boots?page=2', 'Home'],
  ]);
});

test('a held SPA page view is released before the next event, and by the next navigation', async () => {
  const w = fakeWindow('/');
  const d = { title: 'Home' };
  const calls = [];
  const release = capture.watchHistory(w, d, (m, a, ctx) => calls.push(m + ' ' + ctx.url));
  w.history.pushState({}, '', '/a');
  w.history.pushState({}, '', '/b'); // /a is released first
  release(); // what the loader does before recording an event
  calls.push('track add_to_cart');
  await tick();
  assert.deepEqual(calls, ['page /a', 'page /b', 'track add_to_cart']);
});

test('a page shown again from the back/forward cache is a page view; a held SPA view goes first', async () => {
  const w = fakeWindow('/');
  const calls = [];
  capture.watchHistory(w, { title: 'Home' }, (m, a, ctx) => calls.push([m, a, ctx && ctx.url]));
  const show = (persisted) => w.listeners.pageshow({ persisted });
  show(false); // the first load: its page view is init's
  assert.deepEqual(calls, []);
  w.history.pushState({}, '', '/a');
  show(true); // /a's view was still held (the page left before its render turn)
  assert.deepEqual(calls, [['page', [], '/a'], ['page', [], undefined]],
    'the restored page, read by the loader at the call');
  await tick();
  assert.equal(calls.length, 2, 'the held view is not sent twice');
  w.listeners.pageshow(null); // an odd event never throws
});

test('start() honours autoPageviews: false and dataLayer: false', () => {
  const w = fakeWindow('/');
  const before = w.history.pushState;
  capture.start(w, { title: '' }, { autoPageviews: false, dataLayer: false }, () => {});
  assert.equal(w.history.pushState, before, 'history untouched');
  assert.equal(w.dataLayer, undefined, 'no dataLayer created');
  capture.start(w, { title: '' }, {}, () => {});
  assert.notEqual(w.history.pushState, before);
  assert.ok(Array.isArray(w.dataLayer), 'dataLayer created for pushes that come later');
});
