// The demo storefront (www/) knows nothing of funnelcake: it pushes GA4 e-commerce events to its
// dataLayer and loads the one script tag. These shoppers prove that this alone gives complete
// funnels: what the collector stores (events and the session_summary) for a buyer, for one who
// abandons at shipping, for the SPA checkout navigation, for a page with odd dataLayer contents,
// and for a store still tagged for Universal Analytics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCollectorAndBrowser, startProxy, storedEvents, waitFor } from './harness.mjs';

let proxy;
const env = useCollectorAndBrowser({ before, after }, {
  seed: async (e) => { proxy = await startProxy(e.collector.url, { '/odd.html': ODD_PAGE, '/ua.html': UA_PAGE, '/dual.html': DUAL_PAGE, '/signed-in.html': SIGNED_IN_PAGE }); },
});
after(async () => { await proxy?.stop(); });

/**
 * A browser context and page; `errors` collects the page's uncaught errors, and `thrown` every
 * exception thrown in the SDK's scripts, caught or not (the debugger pauses on each, as a
 * page developer's paused on caught exceptions would: the SDK must not stop it on a normal page).
 */
async function newShopper() {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const errors = [];
  const thrown = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const cdp = await context.newCDPSession(page);
  const urls = {};
  cdp.on('Debugger.scriptParsed', (e) => { urls[e.scriptId] = e.url; });
  cdp.on('Debugger.paused', (e) => {
    const at = e.callFrames[0]?.location;
    const url = at ? urls[at.scriptId] || '' : '';
    if (url.includes('/funnelcake/')) {
      thrown.push(`${String(e.data?.description).split('\n')[0]} at ${url}:${at.lineNumber + 1}:${at.columnNumber + 1}`);
    }
    cdp.send('Debugger.resume').catch(() => {});
  });
  await cdp.send('Debugger.enable');
  await cdp.send('Debugger.setPauseOnExceptions', { state: 'all' });
  return { context, page, errors, thrown };
}

async function ready(page) {
  await page.waitForFunction(() => window.funnelcake && window.funnelcake.ready === true);
}

/** The stored events of session `sid`, in order, once its latest summary satisfies `done`. */
async function session(sid, done = () => true) {
  let mine = [];
  await waitFor(async () => {
    mine = (await storedEvents(env.collector.url, 'demo-shop', 10000)).filter((e) => e.sid === sid);
    mine.sort((a, b) => a.seq - b.seq);
    const summaries = mine.filter((e) => e.t === 'session_summary');
    return summaries.length > 0 && done(summaries[summaries.length - 1]);
  }, 20000, `the session_summary of ${sid}`).catch((e) => {
    // What did arrive says which part failed: a lost event, a lost summary or a wrong count.
    const seen = mine.map((x) => x.t === 'session_summary' ? `summary(${JSON.stringify(x.props.page_views)} views)` : `${x.t} ${x.url}`);
    throw new Error(`${e.message}; stored: ${seen.join(', ') || 'nothing'}`);
  });
  // A request sent with the summary's may land just after it: read until two reads agree.
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 200));
    const again = (await storedEvents(env.collector.url, 'demo-shop', 10000)).filter((e) => e.sid === sid);
    if (again.length === mine.length) break;
    mine = again.sort((a, b) => a.seq - b.seq);
  }
  const summaries = mine.filter((e) => e.t === 'session_summary');
  return { events: mine.filter((e) => e.t !== 'session_summary'), summary: summaries[summaries.length - 1] };
}

/**
 * Leaves the page (its hide sends the session), waits for the session at the collector
 * (`session`), then closes the context: closed at once, it can end its network context with a
 * request still going out (a real tab's close does not; a run lost the checkout_contact event of
 * the abandoning shopper that way).
 */
async function leave(page, context, sid, done) {
  await page.goto('about:blank');
  const stored = await session(sid, done);
  await context.close();
  return stored;
}

async function addFromProductPage(page, slug, quantity) {
  await page.goto(env.collector.url + '/product.html?id=' + slug);
  await ready(page);
  await page.fill('#qty', String(quantity));
  await page.click('#add');
  await page.waitForSelector('#added:not([hidden])');
}

async function toCheckout(page) {
  await page.goto(env.collector.url + '/cart.html');
  await ready(page);
  await page.click('#checkout');
  await page.waitForURL(/checkout\.html\?step=contact/);
  await ready(page);
  await page.fill('#email', 'shopper@example.com');
  await page.click('#step-contact button');
  await page.waitForURL(/step=shipping/);
}

test('a shopper browses, adds and removes items, checks out and buys', async () => {
  const { context, page, errors, thrown } = await newShopper();
  await page.goto(env.collector.url + '/?utm_source=newsletter&utm_medium=email');
  await ready(page);
  const sid = (await page.evaluate(() => window.funnelcake.debugState())).sessionId;
  await page.click('a.card[data-id="TR-1"]'); // select_item, then the product page
  await page.waitForURL(/product\.html\?id=trail-runner/);
  await ready(page);
  await page.fill('#qty', '2');
  await page.click('#add');
  await addFromProductPage(page, 'merino-socks', 1);
  await page.goto(env.collector.url + '/cart.html');
  await ready(page);
  await page.click('.line:nth-child(1) button[data-d="-1"]'); // one Trail Runner less
  await page.waitForFunction(() => document.querySelector('#subtotal').textContent === '$137.00');
  await page.click('#checkout');
  await page.waitForURL(/step=contact/);
  await ready(page);
  await page.fill('#email', 'shopper@example.com');
  await page.click('#step-contact button');
  await page.fill('#name', 'Ada Shopper');
  await page.fill('#address', '1 Trail Road');
  await page.check('input[value=express]');
  await page.click('#step-shipping button');
  await page.click('#place');
  await page.waitForURL(/confirmation\.html\?order=/);
  await ready(page);
  const orderId = await page.textContent('#order-id');
  await page.reload(); // the thank-you page reloaded: the repeated purchase is dropped
  await ready(page);
  assert.equal(await page.evaluate(() => window.funnelcake.metrics().dropped.byReason.duplicate_order), 1);
  const { events, summary } = await leave(page, context, sid, (s) => s.props.order_count === 1);
  const p = summary.props;
  assert.equal(p.funnel.furthest_step, 'purchase');
  assert.equal(p.funnel.converted, true);
  assert.equal(p.funnel.skipped_steps, false);
  assert.deepEqual(p.revenue, { USD: 15200 }, '$119 + $18 + $15 express shipping, in cents');
  assert.equal(p.order_count, 1);
  assert.equal(p.cart_abandoned, false);
  assert.equal(p.checkout_abandoned, false);
  assert.equal(p.source.kind, 'email');
  const purchases = events.filter((e) => e.t === 'purchase');
  assert.equal(purchases.length, 1, 'the reload did not count twice');
  assert.equal(purchases[0].props.order ?? purchases[0].order, orderId);
  const types = new Set(events.map((e) => e.t));
  for (const t of ['page_view', 'view_item_list', 'select_item', 'view_item', 'add_to_cart', 'remove_from_cart', 'view_cart',
    'experiment_viewed', 'begin_checkout', 'checkout_contact', 'add_shipping_info', 'add_payment_info', 'purchase']) {
    assert.ok(types.has(t), `${t} stored`);
  }
  const removed = events.find((e) => e.t === 'remove_from_cart');
  assert.deepEqual(removed.items.map((i) => [i.id, i.qty, i.price]), [['TR-1', 1, 11900]]);
  assert.deepEqual(errors, []);
  assert.deepEqual(thrown, [], 'nothing thrown in the SDK, not even caught, from the first visit to the reload');
});

test('a shopper who abandons at shipping', async () => {
  const { context, page, errors, thrown } = await newShopper();
  await addFromProductPage(page, 'ridge-daypack', 1);
  const sid = (await page.evaluate(() => window.funnelcake.debugState())).sessionId;
  await toCheckout(page);
  // Leaves on the shipping form.
  const { events, summary } = await leave(page, context, sid, (s) => s.props.funnel.furthest_step === 'begin_checkout');
  const p = summary.props;
  assert.equal(p.funnel.drop_off_step, 'add_shipping_info');
  assert.equal(p.checkout_abandoned, true);
  assert.equal(p.cart_abandoned, true);
  assert.deepEqual(p.cart.value, { USD: 8900 });
  assert.deepEqual(p.revenue, {});
  assert.ok(events.some((e) => e.t === 'checkout_contact'));
  assert.ok(!events.some((e) => e.t === 'add_shipping_info' || e.t === 'purchase'));
  assert.deepEqual(errors, []);
  assert.deepEqual(thrown, [], 'nothing thrown in the SDK, not even caught');
});

test('SPA checkout: a page view per step with the previous step as referrer, back navigation, no duplicates', async () => {
  const { context, page, errors, thrown } = await newShopper();
  await addFromProductPage(page, 'summit-fleece', 1);
  const sid = (await page.evaluate(() => window.funnelcake.debugState())).sessionId;
  await toCheckout(page);
  // The shipping step's view is held until the app had its turn (a 0 ms timer). A person's
  // back button comes long after; an automated one can come first (Chrome runs the navigation
  // before the timer), and the app's popstate listener, which registered before ours, would
  // have rendered the contact step by the time ours releases the view: its title would be the
  // contact step's (1 run in 5 failed so). Wait for it as a person would.
  await page.waitForFunction(() => window.funnelcake.metrics().exitPage === '/checkout.html?step=shipping');
  await page.goBack(); // popstate back to the contact step
  await page.waitForURL(/step=contact/);
  await page.click('#step-contact button'); // email kept: forward again
  await page.waitForURL(/step=shipping/);
  await page.evaluate(() => history.replaceState({ step: 'shipping' }, '', location.href)); // same URL: no page view
  const { events, summary } = await leave(page, context, sid, (s) => s.props.page_views >= 6);
  // product, cart, and four checkout steps: the summary counts every SPA view.
  assert.equal(summary.props.page_views, 6);
  assert.equal(summary.props.exit_page, '/checkout.html?step=shipping');
  assert.equal(summary.props.funnel.furthest_step, 'begin_checkout');
  assert.equal(summary.props.checkout_abandoned, true);
  const views = events.filter((e) => e.t === 'page_view' && e.url.startsWith('/checkout.html'))
    .map((e) => [e.url, e.ref, e.title]);
  const origin = env.collector.url;
  assert.deepEqual(views, [
    ['/checkout.html?step=contact', origin + '/cart.html', 'Checkout: contact – Cakewalk Outfitters'],
    // Titles are the new step's: the view waits for the app to render (but not past its next event).
    ['/checkout.html?step=shipping', origin + '/checkout.html?step=contact', 'Checkout: shipping – Cakewalk Outfitters'],
    ['/checkout.html?step=contact', origin + '/checkout.html?step=shipping', 'Checkout: contact – Cakewalk Outfitters'],
    ['/checkout.html?step=shipping', origin + '/checkout.html?step=contact', 'Checkout: shipping – Cakewalk Outfitters'],
  ]);
  assert.deepEqual(errors, []);
  assert.deepEqual(thrown, [], 'nothing thrown in the SDK, not even caught');
});

// Odd dataLayer contents, before and after the SDK loads: none may throw or break the page.
const ODD_PAGE = `<!doctype html><html><head><title>odd dataLayer</title>
<script>
  window.dataLayer = [null, 42, 'text', [], { event: 12 }, { event: 'gtm.js', 'gtm.start': Date.now() },
    { event: 'view_item', ecommerce: { currency: 'USD', items: [{ item_id: 'A', price: '12.50', quantity: '2' }] } },
    { get event() { throw new Error('hostile getter'); } }];
  const deep = {}; let cur = deep; for (let i = 0; i < 200; i++) cur = cur.next = {};
  const cyclic = { a: 1 }; cyclic.self = cyclic;
  window.dataLayer.push({ event: 'add_to_cart', ecommerce: { currency: 'USD', items: [{ item_id: 'A', price: 12.5, quantity: 'NaN' }] } },
    { event: 'unknown_event', deep }, { event: 'add_to_cart', ecommerce: { currency: 'USD', items: [{ item_id: 'B', price: '3', deep, cyclic }] } },
    { ecommerce: null }, { event: 'purchase', ecommerce: { value: 'lots', currency: 'USD' } });
</script>
<script async src="/funnelcake/funnelcake.js" data-site="demo-shop" data-endpoint="/v1/batch"></script>
</head><body><h1 id="h">odd</h1></body></html>`;

test('a page whose dataLayer holds odd contents keeps working; valid entries are captured', async () => {
  const { context, page, errors, thrown } = await newShopper();
  await page.goto(proxy.url + '/odd.html');
  await ready(page);
  await page.evaluate(() => {
    window.dataLayer.push(undefined, { event: 'view_cart', ecommerce: 'nope' }, Object.create(null), { event: 'search', search_term: { q: 1 } });
    document.getElementById('h').textContent = 'still alive';
  });
  const m = await page.evaluate(() => window.funnelcake.metrics());
  assert.equal(await page.textContent('#h'), 'still alive');
  const sid = (await page.evaluate(() => window.funnelcake.debugState())).sessionId;
  assert.equal(m.dropped.byReason.invalid_quantity, 1, 'quantity "NaN"');
  assert.equal(m.dropped.byReason.invalid_value, 1, 'purchase with value "lots"');
  assert.equal(m.dropped.total, 2);
  const { events, summary } = await leave(page, context, sid, () => true);
  // The summary saw what the page saw: the valid view_item and add_to_cart, the two drops.
  assert.equal(summary.props.funnel.furthest_step, 'add_to_cart');
  assert.equal(summary.props.dropped.total, 2);
  assert.deepEqual(summary.props.cart.value, { USD: 300 }, 'item B at "3" dollars, in cents');
  assert.equal(summary.props.order_count, 0);
  const viewItem = events.find((e) => e.t === 'view_item');
  assert.deepEqual(viewItem.items.map((i) => [i.id, i.price, i.qty]), [['A', 1250, 2]], 'numeric strings normalised');
  const added = events.filter((e) => e.t === 'add_to_cart');
  assert.deepEqual(added.map((e) => e.items[0].id), ['B']);
  assert.ok(!events.some((e) => e.t === 'unknown_event' || e.t === 'gtm.js'));
  assert.deepEqual(errors, []);
  assert.deepEqual(thrown, [], 'nothing thrown in the SDK, not even caught');
});

// A store still tagged for Universal Analytics enhanced ecommerce, as Google's guide had it: the
// product page pushes its detail (with related products' impressions) before GTM's own events,
// later actions come with custom event names, and the purchase under GA4's name.
const UA_PAGE = `<!doctype html><html><head><title>UA store</title>
<script>
  const fleece = { id: 'P1', name: 'Fleece', category: 'Apparel/Men', price: '74.00' };
  window.dataLayer = [{ ecommerce: { currencyCode: 'EUR', impressions: [{ id: 'R1', name: 'Scarf', list: 'Related' }],
    detail: { products: [fleece] } } }, { event: 'gtm.js', 'gtm.start': Date.now() }];
  function buy() {
    dataLayer.push({ event: 'addToCart', ecommerce: { currencyCode: 'EUR', add: { products: [{ ...fleece, quantity: 2 }] } } });
    dataLayer.push({ event: 'gtm.click' });
    dataLayer.push({ event: 'checkout', ecommerce: { checkout: { actionField: { step: 1 }, products: [{ ...fleece, quantity: 2 }] } } });
    dataLayer.push({ event: 'purchase', ecommerce: { currencyCode: 'EUR', purchase: {
      actionField: { id: 'T-UA-1', revenue: '148.00', tax: '24.67', shipping: '0' }, products: [{ ...fleece, quantity: 2 }] } } });
  }
  addEventListener('DOMContentLoaded', () => dataLayer.push({ event: 'gtm.dom' }));
  addEventListener('load', () => dataLayer.push({ event: 'gtm.load' }));
</script>
<script async src="/funnelcake/funnelcake.js" data-site="demo-shop" data-endpoint="/v1/batch"></script>
</head><body><button id="buy" onclick="buy()">buy</button></body></html>`;

test('a store tagged for Universal Analytics gets its funnel: each action recorded once, the purchase with its order', async () => {
  const { context, page, errors, thrown } = await newShopper();
  await page.goto(proxy.url + '/ua.html', { waitUntil: 'load' });
  await ready(page);
  await page.click('#buy');
  const sid = (await page.evaluate(() => window.funnelcake.debugState())).sessionId;
  const { events, summary } = await leave(page, context, sid, (s) => s.props.order_count === 1);
  const names = events.map((e) => e.t).filter((t) => t !== 'page_view');
  // Once each, though GTM's data model still holds the detail at gtm.js, gtm.dom and gtm.load.
  assert.deepEqual(names, ['view_item_list', 'view_item', 'add_to_cart', 'begin_checkout', 'purchase']);
  assert.deepEqual(events.find((e) => e.t === 'view_item').items.map((i) => [i.id, i.price, i.cat]), [['P1', 7400, ['Apparel', 'Men']]]);
  const purchase = events.find((e) => e.t === 'purchase');
  assert.equal(purchase.order, 'T-UA-1');
  assert.equal(purchase.value, 14800);
  assert.equal(purchase.cur, 'EUR');
  assert.deepEqual(summary.props.revenue, { EUR: 14800 });
  assert.equal(summary.props.funnel.furthest_step, 'purchase');
  assert.deepEqual(errors, []);
  assert.deepEqual(thrown, [], 'nothing thrown in the SDK, not even caught');
});

// A store tagged in both dialects, as platform plugins did during the move to GA4: each action
// pushed once as UA and once as GA4, the product page's before the SDK loaded.
const DUAL_PAGE = `<!doctype html><html><head><title>dual store</title>
<script>
  const ua = { id: 'P1', name: 'Fleece', price: '74.00', quantity: 1 }, ga4 = { item_id: 'P1', item_name: 'Fleece', price: 74, quantity: 1 };
  window.dataLayer = [{ event: 'detailView', ecommerce: { currencyCode: 'EUR', detail: { products: [ua] } } }, { ecommerce: null },
    { event: 'view_item', ecommerce: { currency: 'EUR', value: 74, items: [ga4] } }];
  function add() { // UA first, then GA4, as the first click's pushes
    dataLayer.push({ ecommerce: null }, { event: 'addToCart', ecommerce: { currencyCode: 'EUR', add: { products: [ua] } } });
    dataLayer.push({ ecommerce: null }, { event: 'add_to_cart', ecommerce: { currency: 'EUR', value: 74, items: [ga4] } });
  }
</script>
<script async src="/funnelcake/funnelcake.js" data-site="demo-shop" data-endpoint="/v1/batch"></script>
</head><body><button id="add" onclick="add()">add</button></body></html>`;

test('a store tagged in both dialects records each action once', async () => {
  const { context, page, errors, thrown } = await newShopper();
  await page.goto(proxy.url + '/dual.html');
  await ready(page);
  await page.click('#add');
  await page.click('#add');
  const sid = (await page.evaluate(() => window.funnelcake.debugState())).sessionId;
  const { events, summary } = await leave(page, context, sid, (s) => s.props.cart.count === 2);
  assert.deepEqual(events.map((e) => e.t).filter((t) => t !== 'page_view'), ['view_item', 'add_to_cart', 'add_to_cart']);
  assert.deepEqual(events.find((e) => e.t === 'view_item').items.map((i) => i.price), [7400], 'the GA4 push');
  assert.deepEqual(summary.props.cart.value, { EUR: 14800 });
  assert.deepEqual(errors, []);
  assert.deepEqual(thrown, [], 'nothing thrown in the SDK, not even caught');
});

// A store whose GA4 tag is given the signed-in customer's id, as GA4's User-ID feature has it:
// on every page, in gtag's config; signing out pushes `user_id: null`.
const SIGNED_IN_PAGE = `<!doctype html><html><head><title>signed in</title>
<script>
  window.dataLayer = window.dataLayer || [];
  function gtag() { dataLayer.push(arguments); }
  gtag('js', new Date());
  gtag('config', 'G-TEST', { user_id: 'U-77' });
  gtag('event', 'view_item', { currency: 'EUR', items: [{ item_id: 'P1', item_name: 'Fleece', price: 74 }] });
  function signOut() { dataLayer.push({ event: 'logout', user_id: null }); dataLayer.push({ event: 'view_cart' }); }
</script>
<script async src="/funnelcake/funnelcake.js" data-site="demo-shop" data-endpoint="/v1/batch"></script>
</head><body><button id="out" onclick="signOut()">sign out</button></body></html>`;

test("GA4's user_id identifies the shopper: once, not again on the next page, and signing out clears it", async () => {
  const { context, page, errors, thrown } = await newShopper();
  await page.goto(proxy.url + '/signed-in.html');
  await ready(page);
  await page.reload();
  await ready(page);
  await page.click('#out');
  const sid = (await page.evaluate(() => window.funnelcake.debugState())).sessionId;
  const { events } = await leave(page, context, sid, (s) => s.props.page_views === 2);
  assert.deepEqual(events.map((e) => [e.t, e.uid ?? null]), [
    ['page_view', null], ['identify', 'U-77'], ['view_item', 'U-77'],
    ['page_view', 'U-77'], ['view_item', 'U-77'], // the same id again: no identify event
    ['identify', null], ['view_cart', null],
  ]);
  assert.ok(events.every((e) => !('user_id' in (e.props || {}))), 'not sent as a property');
  assert.deepEqual(errors, []);
  assert.deepEqual(thrown, [], 'nothing thrown in the SDK, not even caught');
});
