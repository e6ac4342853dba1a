// Delivery guarantees in Chromium against the real collector, through a fault-injecting proxy.
// Every scenario tracks events carrying a unique `mark` and asserts on what the collector
// stored: every mark present, none twice.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  startCollector, startProxy, launchBrowser, sdkPage, expectExactlyOnce, storedMarkers, waitFor,
} from './harness.mjs';

const QUOTA_FILL = `
  // Fill localStorage to its quota, leaving about 60 KB free.
  try {
    if (!localStorage.getItem('filler-0')) {
      let i = 0;
      const big = 'x'.repeat(512 * 1024);
      try { for (;; i++) localStorage.setItem('filler-' + i, big); } catch (e) {}
      const small = 'y'.repeat(16 * 1024);
      let j = 0;
      try { for (;; j++) localStorage.setItem('small-' + j, small); } catch (e) {}
      for (let k = 0; k < 4; k++) localStorage.removeItem('small-' + (j - 1 - k));
    }
  } catch (e) {}
`;

const PAGES = {
  '/t/plain.html': sdkPage(),
  '/t/slow.html': sdkPage({ 'flush-at': 500, 'flush-interval-ms': 60000 }),
  '/t/eager.html': sdkPage({ 'flush-at': 5 }),
  '/t/quota.html': sdkPage({ 'max-queue-bytes': 20000, 'flush-at': 500 }),
  '/t/away.html': '<!doctype html><title>away</title><h1>a page without the SDK</h1>',
};

let collector;
let proxy;
let browser;

before(async () => {
  collector = await startCollector();
  proxy = await startProxy(collector.url, PAGES);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await proxy?.stop();
  await collector?.stop();
});

beforeEach(() => proxy.setMode('pass'));

async function open(context, path) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(proxy.url + path);
  await page.waitForFunction(() => window.funnelcake && window.funnelcake.ready === true);
  return { page, errors };
}

/** Tracks `marks` on the page with a mix of event kinds. */
async function trackMarks(page, marks) {
  await page.evaluate((marks) => {
    const fc = window.funnelcake;
    marks.forEach((mark, i) => {
      const item = { item_id: 'SKU-' + (i % 7), price: 10 + (i % 5), currency: 'USD', mark };
      switch (i % 6) {
        case 0: fc.page({ mark }); break;
        case 1: fc.viewItem(item); break;
        case 2: fc.addToCart(item); break;
        case 3: fc.beginCheckout({ currency: 'USD', items: [item], mark }); break;
        case 4: fc.checkoutStep('shipping', { mark }); break;
        default: fc.track('custom_event', { mark });
      }
    });
  }, marks);
}

const range = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

/** The site's persisted queues on `page`: [key, how many events marked `prefix-<n>` it holds]. */
function queuesOf(page, prefix) {
  return page.evaluate((prefix) => Object.keys(localStorage).filter((k) => k.includes(':q:'))
    .map((k) => [k, (localStorage.getItem(k).match(new RegExp(prefix + '-\\d+', 'g')) || []).length]), prefix);
}

/** Waits until `queues(page)` shows one key holding `n` marked events (the tab's send failed and
 * its queue is persisted under its own key); resolves to that key. */
async function persistedKey(page, queues, n) {
  await waitFor(async () => (await queues(page)).some(([, c]) => c === n), 5000, 'the tab\'s persisted queue');
  return (await queues(page)).find(([, c]) => c === n)[0];
}

/** Opens a tab whose sends all fail, tracks 30 marks `<prefix>-N` and waits until its queue is
 * persisted: the tab, its marks, `queues(page)` for those marks and the tab's queue key. */
async function tabWithQueue(context, prefix) {
  const tab = await open(context, '/t/plain.html');
  proxy.setMode('drop');
  const marks = range(prefix, 30);
  await trackMarks(tab.page, marks);
  const queues = (page) => queuesOf(page, prefix);
  return { ...tab, marks, queues, key: await persistedKey(tab.page, queues, 30) };
}

/** Another tab's `queues` list holds the 30 events under its own key, no longer under `key`. */
const heldUnderOwnKey = (q, key) => !q.some(([k]) => k === key) && q.some(([, n]) => n === 30);

test('steady: 500 events across page views, cart and checkout, with navigations between', async () => {
  const context = await browser.newContext();
  const marks = range('steady', 500);
  for (let round = 0; round < 5; round++) {
    const { page, errors } = await open(context, '/t/plain.html');
    await trackMarks(page, marks.slice(round * 100, round * 100 + 100));
    assert.deepEqual(errors, []);
    await page.close({ runBeforeUnload: true });
  }
  // A return visit. Each page above was closed right after a burst of 100 events: what did not
  // fit the browser's 64 KiB keepalive budget at close stayed in that tab's persisted queue, and
  // the next page of the site takes it over (as the pages of rounds 2–5 did for rounds 1–4).
  // Delivery at close itself is the `unload` scenario below.
  const { page } = await open(context, '/t/plain.html');
  await expectExactlyOnce(assert, proxy.url, 'delivery', marks);
  await page.close();
  await context.close();
});

test('unload: 50 events then immediate navigation away, no flush()', async () => {
  const context = await browser.newContext();
  const { page } = await open(context, '/t/slow.html');
  const marks = range('unload', 50);
  await trackMarks(page, marks);
  await page.goto('about:blank');
  await expectExactlyOnce(assert, proxy.url, 'delivery', marks, 15000);
  await context.close();
});

test('flush() called while the timer\'s batch is in flight waits for it, then sends the rest', async () => {
  const context = await browser.newContext();
  const { page, errors } = await open(context, '/t/eager.html');
  proxy.setMode('slow');
  const marks = range('flush', 40);
  const posted = proxy.posts.length;
  await trackMarks(page, marks.slice(0, 20));
  // flushAt is 5: the commit after that burst sends a batch, which the proxy holds 400 ms.
  await waitFor(() => proxy.posts.length > posted, 5000, 'the timer\'s batch');
  const left = await page.evaluate(async (marks) => {
    const fc = window.funnelcake;
    marks.forEach((mark) => fc.track('custom_event', { mark }));
    return fc.flush();
  }, marks.slice(20));
  assert.equal(left, 0, 'flush() resolves once nothing is pending');
  // Resolved means acknowledged: every event is stored already, without waiting.
  const counts = await storedMarkers(proxy.url, 'delivery');
  assert.deepEqual(marks.filter((m) => counts.get(m) !== 1), []);
  assert.deepEqual(errors, []);
  await context.close();
});

test('compression: batches of a visible page go gzip (?enc=gzip) and are stored; a hidden page\'s go plain', async () => {
  const context = await browser.newContext();
  const { page, errors } = await open(context, '/t/plain.html');
  const marks = range('gzip', 60);
  const posted = proxy.posts.length;
  await trackMarks(page, marks);
  assert.equal(await page.evaluate(() => window.funnelcake.flush()), 0);
  const sent = proxy.posts.slice(posted);
  assert.ok(sent.length > 0 && sent.every((p) => p.gzip), `all gzip: ${sent.map((p) => p.gzip)}`);
  assert.ok(marks.every((m) => sent.some((p) => p.body.includes(`"${m}"`))), 'the proxy unpacked every event');
  const counts = await storedMarkers(proxy.url, 'delivery');
  assert.deepEqual(marks.filter((m) => counts.get(m) !== 1), []);
  // Hidden: what leaves (beacons on hide, then any send while hidden) is plain JSON text.
  const hiddenMarks = range('plain', 10);
  const before = proxy.posts.length;
  await page.evaluate(() => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await trackMarks(page, hiddenMarks);
  await page.evaluate(() => window.funnelcake.flush());
  const later = proxy.posts.slice(before);
  assert.ok(later.length > 0 && later.every((p) => !p.gzip), `all plain: ${later.map((p) => p.gzip)}`);
  assert.deepEqual(errors, []);
  await context.close();
});

test('hidden, then closed: what the hidden page recorded leaves by beacon at the close', async () => {
  const context = await browser.newContext();
  const { page, errors } = await open(context, '/t/plain.html');
  const marks = range('hidden', 5);
  await page.evaluate(() => {
    // The tab is switched away: the SDK handles the hide (summary, beacons) at once.
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  // A timer on the hidden page tracks a few events (too few and too young for a send), then the
  // tab is closed: pagehide must carry them, with no later page load to pick up the queue.
  await trackMarks(page, marks);
  await page.close({ runBeforeUnload: true });
  await expectExactlyOnce(assert, proxy.url, 'delivery', marks, 10000);
  assert.deepEqual(errors, []);
  await context.close();
});

test('outage: the collector answers 503 for 5 s, then recovers', async () => {
  const context = await browser.newContext();
  const { page } = await open(context, '/t/plain.html');
  proxy.setMode('503');
  const marks = range('outage', 40);
  await trackMarks(page, marks);
  await new Promise((r) => setTimeout(r, 5000));
  const during = proxy.posts.filter((p) => p.mode === '503').length;
  assert.ok(during >= 1, 'the SDK tried during the outage');
  proxy.setMode('pass');
  await expectExactlyOnce(assert, proxy.url, 'delivery', marks, 40000);
  await context.close();
});

test('reload: the collector is unreachable, 50 events, then a reload with it back', async () => {
  const context = await browser.newContext();
  const { page } = await open(context, '/t/plain.html');
  proxy.setMode('drop');
  const marks = range('reload', 50);
  await trackMarks(page, marks);
  await page.waitForTimeout(1500); // failed attempts happen and the queue is persisted
  // The unload beacons are lost too (still 'drop'): only the persisted queue can save them.
  await page.reload();
  await page.waitForFunction(() => window.funnelcake && window.funnelcake.ready === true);
  proxy.setMode('pass');
  await expectExactlyOnce(assert, proxy.url, 'delivery', marks, 60000);
  await context.close();
});

test('tabs: two tabs track at once, one is closed mid-way with its sends failing', async () => {
  const context = await browser.newContext();
  const a = await open(context, '/t/plain.html');
  const b = await open(context, '/t/plain.html');
  const marksA = range('tabA', 60);
  const marksB = range('tabB', 60);
  await Promise.all([trackMarks(a.page, marksA.slice(0, 30)), trackMarks(b.page, marksB.slice(0, 30))]);
  proxy.setMode('drop');
  await trackMarks(a.page, marksA.slice(30));
  await a.page.waitForTimeout(500);
  await a.page.close(); // its beacons are lost: tab B must take over its persisted queue
  proxy.setMode('pass');
  await trackMarks(b.page, marksB.slice(30));
  await expectExactlyOnce(assert, proxy.url, 'delivery', [...marksA, ...marksB], 60000);
  assert.deepEqual(b.errors, []);
  await context.close();
});

test('tabs: a tab closed while another stays open is taken over at once, not at its next send', async () => {
  const context = await browser.newContext();
  const a = await tabWithQueue(context, 'closing');
  const { marks, queues } = a;
  // B opens while A is alive: it cannot take A's queue yet, and (with every send failing) it has
  // no successful delivery that would make it look again.
  const b = await open(context, '/t/plain.html');
  await a.page.close();
  await waitFor(async () => heldUnderOwnKey(await queues(b.page), a.key), 5000, 'B to hold A\'s events under its own key');
  proxy.setMode('pass');
  await expectExactlyOnce(assert, proxy.url, 'delivery', marks, 30000);
  assert.deepEqual(b.errors, []);
  await context.close();
});

/** Runs `f` with a browser that has the back/forward cache on; closes it whatever happens. */
async function withCache(f) {
  const cached = await launchBrowser([], { bfcache: true });
  try {
    await f(cached);
  } finally {
    await cached.close();
  }
}

/** Leaves `page` for `path` and comes back by the browser's back button: `restored` if it was
 * shown again from the back/forward cache (not loaded again), and if not, `why`. */
async function awayAndBack(page, path = '/t/away.html') {
  await page.evaluate(() => { window.beforeLeaving = true; });
  await page.goto(proxy.url + path);
  if (path !== '/t/away.html') await page.waitForFunction(() => window.funnelcake && window.funnelcake.ready === true);
  await page.waitForTimeout(300);
  await page.goBack({ waitUntil: 'commit' }); // a restore fires no load event
  await page.waitForFunction(() => document.readyState === 'complete' && window.funnelcake && window.funnelcake.ready);
  return page.evaluate(() => ({
    restored: window.beforeLeaving === true,
    why: JSON.stringify(performance.getEntriesByType('navigation')[0].notRestoredReasons),
  }));
}

test('back/forward cache: a page left for another page of the site is restored by the back button, its events sent once', () => withCache(async (cached) => {
  const page = await cached.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(proxy.url + '/t/plain.html');
  await page.waitForFunction(() => window.funnelcake && window.funnelcake.ready === true);
  proxy.setMode('drop');
  const marks = range('next', 24);
  await trackMarks(page, marks);
  const views = (await page.evaluate(() => window.funnelcake.metrics())).pageViews;
  // The next page's SDK looks for queues of tabs that are gone, finds this page's (it had
  // unsent events) and asks for its lock: a lock kept in the cache would make the browser load
  // this page again instead ('weblocks-contention').
  const back = await awayAndBack(page, '/t/eager.html?next');
  assert.equal(back.why, 'null', 'nothing kept the page from the cache');
  assert.ok(back.restored, 'shown again from the back/forward cache');
  await waitFor(async () => (await page.evaluate(() => window.funnelcake.metrics())).pageViews === views + 1,
    5000, 'the restored page counted as a page view');
  proxy.setMode('pass');
  const after = range('next-after', 6);
  await trackMarks(page, after);
  await page.evaluate(() => window.funnelcake.flush());
  await expectExactlyOnce(assert, proxy.url, 'delivery', [...marks, ...after], 30000);
  assert.deepEqual(errors, []);
}));

test('back/forward cache: a page left while another tab waits for its queue is restored, and that tab sends its events', () => withCache(async (cached) => {
  const context = await cached.newContext();
  const a = await tabWithQueue(context, 'cached');
  const { marks, queues } = a;
  // B sees A's queue and waits for A's lock: a lock held in the cache would keep A from being
  // restored ('weblocks-contention').
  const b = await open(context, '/t/plain.html');
  const views = (await a.page.evaluate(() => window.funnelcake.metrics())).pageViews;
  const back = await awayAndBack(a.page);
  assert.equal(back.why, 'null', 'nothing kept the page from the cache');
  assert.ok(back.restored, 'shown again from the back/forward cache');
  // Left for the cache, A handed its queue on: B took it while A was away.
  assert.ok(heldUnderOwnKey(await queues(b.page), a.key), 'B holds A\'s events under its own key');
  await waitFor(async () => (await a.page.evaluate(() => window.funnelcake.metrics())).pageViews === views + 1,
    5000, 'the restored page counted as a page view');
  proxy.setMode('pass');
  const after = range('cached-after', 10);
  await trackMarks(a.page, after);
  await a.page.evaluate(() => window.funnelcake.flush());
  await expectExactlyOnce(assert, proxy.url, 'delivery', [...marks, ...after], 30000);
  assert.deepEqual([...a.errors, ...b.errors], []);
}));

test('back/forward cache: a page restored with no other tab open sends what it had queued, once', () => withCache(async (cached) => {
  const context = await cached.newContext();
  const a = await open(context, '/t/plain.html');
  proxy.setMode('drop');
  const marks = range('alone', 20);
  await trackMarks(a.page, marks);
  await a.page.waitForTimeout(300);
  const back = await awayAndBack(a.page);
  assert.ok(back.restored, 'shown again from the back/forward cache: ' + back.why);
  proxy.setMode('pass');
  const after = range('alone-after', 5);
  await trackMarks(a.page, after);
  await expectExactlyOnce(assert, proxy.url, 'delivery', [...marks, ...after], 30000);
  assert.deepEqual(a.errors, []);
}));

test('tabs: a new identity written by one tab is taken up by the other at its next call', async () => {
  const context = await browser.newContext();
  const a = await open(context, '/t/plain.html');
  const b = await open(context, '/t/plain.html');
  const id = (page) => page.evaluate(() => window.funnelcake.debugState().anonymousId);
  assert.equal(await id(a.page), await id(b.page), 'one visitor across the tabs');
  // A logs out (reset: a new anonymous id); its state reaches localStorage in its next task,
  // and the browser tells tab B with a `storage` event.
  await a.page.evaluate(() => window.funnelcake.reset());
  const fresh = await id(a.page);
  await waitFor(() => b.page.evaluate((fresh) => localStorage.getItem('fc:v1:delivery:state').includes(fresh), fresh),
    5000, 'A\'s new state in storage');
  await b.page.evaluate(() => new Promise((r) => setTimeout(r, 50))); // the storage event's task
  await b.page.evaluate(() => window.funnelcake.track('custom_event', { mark: 'after-reset' }));
  assert.equal(await id(b.page), fresh, 'B took up A\'s new identity');
  assert.deepEqual([...a.errors, ...b.errors], []);
  await context.close();
});

test('bad status: a 400 drops and counts the batch and never retries it', async () => {
  const context = await browser.newContext();
  const { page } = await open(context, '/t/slow.html');
  await page.evaluate(() => window.funnelcake.flush()); // the automatic page view
  proxy.setMode('400');
  const bad = range('bad', 5);
  await trackMarks(page, bad);
  const pending = await page.evaluate(() => window.funnelcake.flush());
  assert.equal(pending, 0, 'nothing left pending after a 400');
  const dropped = await page.evaluate(() => window.funnelcake.metrics().dropped.byReason.rejected);
  assert.equal(dropped, 5);
  proxy.setMode('pass');
  const good = range('good', 5);
  await trackMarks(page, good);
  await page.evaluate(() => window.funnelcake.flush());
  await expectExactlyOnce(assert, proxy.url, 'delivery', good);
  await page.waitForTimeout(1500);
  const stored = await storedMarkers(proxy.url, 'delivery');
  assert.ok(bad.every((m) => !stored.has(m)), 'rejected events are not stored');
  const sentBad = proxy.posts.filter((p) => p.body.includes('"bad-0"')).length;
  assert.equal(sentBad, 1, 'the rejected batch was sent once, never retried');
  await context.close();
});

test('storage blocked: localStorage throws, tracking and delivery still work in memory', async () => {
  const context = await browser.newContext();
  await context.addInitScript(() => {
    Object.defineProperty(window, 'localStorage', {
      get() { throw new DOMException('The operation is insecure.', 'SecurityError'); },
    });
  });
  const { page, errors } = await open(context, '/t/plain.html');
  const state = await page.evaluate(() => window.funnelcake.debugState());
  assert.equal(state.persistent, false);
  const marks = range('blocked', 30);
  await trackMarks(page, marks);
  await page.evaluate(() => window.funnelcake.flush());
  await expectExactlyOnce(assert, proxy.url, 'delivery', marks);
  assert.deepEqual(errors, []);
  await context.close();
});

test('Safari 16 to 18.4: a text decoder that fails past its limit is replaced, and nothing is lost', async () => {
  // Safari's TextDecoder throws a RangeError once it has decoded 2 GiB in all (WebKit bug
  // 280593): here every decoder does so past 20 KB, which this page passes many times.
  const context = await browser.newContext();
  await context.addInitScript(() => {
    const Real = TextDecoder;
    window.decodersMade = 0;
    window.TextDecoder = class extends Real {
      constructor(...args) { super(...args); this.left = 20000; window.decodersMade++; }
      decode(bytes) {
        this.left -= bytes ? bytes.byteLength : 0;
        if (this.left < 0) throw new RangeError('Bad value');
        return super.decode(bytes);
      }
    };
  });
  const { page, errors } = await open(context, '/t/plain.html');
  const marks = range('decoder', 200);
  for (let i = 0; i < marks.length; i += 20) {
    await trackMarks(page, marks.slice(i, i + 20));
    await page.evaluate(() => window.funnelcake.flush());
  }
  await expectExactlyOnce(assert, proxy.url, 'delivery', marks);
  const after = await page.evaluate(() => ({ made: window.decodersMade, state: window.funnelcake.debugState() }));
  assert.ok(after.made > 3, `decoders renewed: ${after.made} made`);
  assert.equal(after.state.pending, 0);
  assert.deepEqual(errors, []);
  await context.close();
});

test('quota: a full localStorage never throws and the persisted queue stays under maxQueueBytes', async () => {
  const context = await browser.newContext();
  await context.addInitScript(QUOTA_FILL);
  const { page, errors } = await open(context, '/t/quota.html');
  proxy.setMode('drop');
  const marks = range('quota', 300);
  await trackMarks(page, marks);
  await page.waitForTimeout(1500);
  const sizes = await page.evaluate(() => {
    const out = [];
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i);
      if (k.startsWith('fc:v1:delivery:q:')) out.push(localStorage.getItem(k).length);
    }
    return out;
  });
  assert.ok(sizes.length >= 1, 'the queue is persisted in the room left');
  for (const size of sizes) assert.ok(size <= 20000 + 32, `persisted queue is ${size} bytes`);
  const m = await page.evaluate(() => window.funnelcake.metrics());
  assert.ok(m.dropped.byReason.queue_overflow > 0, 'the overflow is counted');
  assert.deepEqual(errors, []);
  proxy.setMode('pass');
  await page.evaluate(() => window.funnelcake.flush());
  await waitFor(async () => (await storedMarkers(proxy.url, 'delivery')).has('quota-299'), 30000, 'the newest events');
  await context.close();
});
