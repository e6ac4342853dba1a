// The dashboard against data the SDK really sent: KPI cards, funnel, sources and orders render
// with the right numbers, and the live stream connects.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector, launchBrowser, shop, waitFor, storedEvents, PHONE_UA } from './harness.mjs';

let collector;
let browser;

before(async () => {
  collector = await startCollector();
  browser = await launchBrowser();
  await shop(browser, collector.url, { landing: '?utm_source=newsletter&utm_medium=email', depth: 7, order: 'D-1' });
  await shop(browser, collector.url, { landing: '?gclid=abc', depth: 4 });
  await shop(browser, collector.url, { landing: '', depth: 2 });
  // The social shopper is on a phone (the collector reads the device class from the User-Agent).
  const phone = await launchBrowser(['--user-agent=' + PHONE_UA]);
  try {
    await shop(phone, collector.url, { landing: '?utm_source=facebook&utm_medium=social', depth: 7, order: 'D-2', value: 89 });
  } finally {
    await phone.close();
  }
  await waitFor(async () => {
    const res = await fetch(`${collector.url}/v1/sites/demo-shop/metrics`);
    const k = (await res.json()).kpis;
    return k.sessions === 4 && k.orders === 2;
  }, 20000, 'the four sessions and two orders');
});

after(async () => {
  await browser?.close();
  await collector?.stop();
});

/** The dashboard (with the address's `query`), loaded, with a list of the page errors it throws. */
async function openDashboard(query = '') {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(collector.url + '/dashboard.html' + query);
  await page.waitForSelector('body[data-loaded="true"]', { timeout: 10000 });
  return { page, errors };
}

test('the dashboard shows the KPIs, funnel, sources and orders of the data sent', async () => {
  const { page, errors } = await openDashboard();
  const card = (label) => page.locator(`[data-kpi="${label}"]`).textContent();
  assert.equal(await card('Sessions'), '4');
  assert.equal(await card('Conversion rate'), '50.0%');
  assert.match(await card('Revenue'), /208/, 'USD 119 + 89');
  assert.equal(await card('Checkout abandonment'), '33.3%', '3 began checkout, 1 did not buy');
  // Every event the four shoppers sent, as the collector counted them.
  const stored = (await storedEvents(collector.url, 'demo-shop', 10000)).length;
  assert.equal(await card('Events stored'), String(stored));
  const funnel = await page.locator('#funnel li').allTextContents();
  assert.equal(funnel.length, 7);
  assert.match(funnel[0], /Page view\s*4/);
  assert.match(funnel[6], /Purchase\s*2/);
  const sources = await page.locator('#sources li').allTextContents();
  assert.equal(sources.length, 4);
  assert.ok(sources.some((s) => /Email\s*1 · 100\.0%/.test(s)) && sources.some((s) => /Paid search\s*1 · 0\.0%/.test(s)));
  const devices = await page.locator('#devices li').allTextContents();
  assert.deepEqual(devices.map((d) => d.replace(/\s+/g, ' ').trim()), ['Desktop3 · 33.3%', 'Mobile1 · 100.0%']);
  assert.equal(await page.locator('#orders-chart rect').count(), 1, 'one day with orders');
  assert.match(await page.locator('#sessions-chart rect title').textContent(), /^\d{4}-\d\d-\d\d: 4 sessions$/);
  // Every shopper landed on the home page, whatever its campaign parameters; two of four bought.
  const cells = (table) => page.locator(`#${table} tbody tr`).evaluateAll((rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
  assert.deepEqual(await cells('pages'), [['/', '4', '50.0%']]);
  // The three shoppers who came from somewhere; the newsletter and facebook ones bought. The ad
  // click (`gclid` alone) is listed under its kind.
  const campaigns = await cells('campaigns');
  assert.equal(campaigns.length, 3);
  assert.deepEqual(campaigns.find((c) => c[0] === 'newsletter / email').slice(2, 4), ['1', '100.0%']);
  assert.deepEqual(campaigns.find((c) => c[0] === '– / paid_search').slice(2, 4), ['1', '0.0%']);
  await page.waitForSelector('#live.on', { timeout: 5000 });
  assert.equal(await page.locator('#active').textContent(), '4');
  assert.deepEqual(errors, []);
  await page.close();
});

test('the dashboard shows a funnel over the steps typed, kept in its address', async () => {
  const { page, errors } = await openDashboard();
  await page.fill('#steps', ' view_item,add_to_cart , purchase');
  await page.click('#steps-form button');
  await page.waitForFunction(() => document.querySelectorAll('#funnel li').length === 3, null, { timeout: 10000 });
  const funnel = await page.locator('#funnel li').allTextContents();
  // Every session viewed an item; three (depths 4, 7, 7) added to cart; two bought.
  assert.match(funnel[0], /Viewed item\s*4/);
  assert.match(funnel[1], /Added to cart\s*3/);
  assert.match(funnel[2], /Purchase\s*2/);
  assert.match(await page.locator('#funnel-note').textContent(), /these events in this order/);
  assert.equal(new URL(page.url()).searchParams.get('steps'), 'view_item,add_to_cart,purchase');
  // Opened from that address, the same funnel; a request the collector refuses shows its reason.
  await page.goto(page.url());
  await page.waitForFunction(() => document.querySelectorAll('#funnel li').length === 3, null, { timeout: 10000 });
  assert.equal(await page.inputValue('#steps'), 'view_item,add_to_cart,purchase');
  await page.fill('#steps', Array.from({ length: 21 }, (_, i) => 'step' + i).join(','));
  await page.click('#steps-form button');
  await page.waitForSelector('#funnel li.muted', { timeout: 10000 });
  assert.match(await page.locator('#funnel li.muted').textContent(), /400 at most 20 funnel steps/);
  // Cleared, the default funnel again.
  await page.fill('#steps', '');
  await page.click('#steps-form button');
  await page.waitForFunction(() => document.querySelectorAll('#funnel li').length === 7, null, { timeout: 10000 });
  assert.equal(new URL(page.url()).search, '');
  assert.deepEqual(errors, []);
  await page.close();
});

test('the dashboard shows one source or device only, kept in its address', async () => {
  const { page, errors } = await openDashboard();
  const card = (label) => page.locator(`[data-kpi="${label}"]`).textContent();
  await page.selectOption('#device', 'mobile');
  await page.waitForFunction(() => document.querySelector('[data-kpi="Sessions"]').textContent === '1', null, { timeout: 10000 });
  // The phone shopper bought once, for 89.
  assert.equal(await card('Conversion rate'), '100.0%');
  assert.match(await card('Revenue'), /89/);
  assert.doesNotMatch(await card('Revenue'), /208/);
  assert.match((await page.locator('#funnel li').allTextContents())[6], /Purchase\s*1/);
  assert.match(await page.locator('#status').textContent(), /only mobile sessions/);
  assert.equal(new URL(page.url()).searchParams.get('device'), 'mobile');
  // Both: paid search on mobile is nobody.
  await page.selectOption('#source', 'paid_search');
  await page.waitForFunction(() => document.querySelector('[data-kpi="Sessions"]').textContent === '0', null, { timeout: 10000 });
  assert.equal(await card('Conversion rate'), '–');
  // Opened from that address, the same view; back to all devices, the paid search session. A
  // click on a device bar picks that device.
  await page.goto(page.url());
  await page.waitForSelector('body[data-loaded="true"]', { timeout: 10000 });
  assert.equal(await page.inputValue('#source'), 'paid_search');
  assert.equal(await page.inputValue('#device'), 'mobile');
  await page.selectOption('#device', '');
  await page.waitForFunction(() => document.querySelector('[data-kpi="Sessions"]').textContent === '1', null, { timeout: 10000 });
  assert.equal(new URL(page.url()).search, '?source=paid_search');
  await page.click('#devices li[data-value="desktop"]');
  await page.waitForFunction(() => new URLSearchParams(location.search).get('device') === 'desktop', null, { timeout: 10000 });
  assert.equal(await page.inputValue('#device'), 'desktop');
  assert.deepEqual(errors, []);
  await page.close();
});

test('the dashboard compares each figure with the period before', async () => {
  // Another site: 6 sessions in the last 30 days (3 converted), 4 in the 30 days before them
  // (1 converted): sessions up 50%, conversion up 25 points; abandonment and money have nothing
  // to compare (no carts, no orders), so they show no change.
  const now = Date.now();
  const summary = (i, started, converted) => ({
    id: (i + 100).toString(16).padStart(32, '0'), t: 'session_summary', ts: started + 1000, sid: 'c' + i, aid: 'c' + i, seq: 1,
    url: '/', props: { started_at: started, converted, final: true },
  });
  const events = [
    ...Array.from({ length: 6 }, (_, i) => summary(i, now - (i + 1) * 3600e3, i < 3)),
    ...Array.from({ length: 4 }, (_, i) => summary(10 + i, now - (40 + i) * 86400e3, i < 1)),
  ];
  const res = await fetch(collector.url + '/v1/batch', { method: 'POST', body: JSON.stringify({ v: 1, site: 'cmp-site', sent_at: now, events }) });
  assert.equal((await res.json()).accepted, 10);
  const { page, errors } = await openDashboard('?site=cmp-site');
  const change = (label) => page.locator(`[data-change="${label}"]`)
    .evaluateAll((els) => els.map((e) => [e.textContent, e.className, e.title]));
  assert.equal(await page.locator('[data-kpi="Sessions"]').textContent(), '6');
  assert.deepEqual(await change('Sessions'), [['▲ 50%', 'change good', 'previous period: 4']]);
  assert.deepEqual(await change('Conversion rate'), [['▲ 25.0 pts', 'change good', 'previous period: 25.0%']]);
  assert.deepEqual(await change('Revenue'), []);
  assert.deepEqual(await change('Cart abandonment'), []);
  assert.match(await page.locator('#compare-note').textContent(), /against the 30 days before/);
  // Today against the same hours yesterday: nothing then, so no change is shown, and no note.
  await page.selectOption('#range', '1');
  await page.waitForFunction(() => !document.querySelector('[data-change]'), null, { timeout: 10000 });
  assert.equal(await page.locator('#compare-note').textContent(), '');
  assert.deepEqual(errors, []);
  await page.close();
});

test('the dashboard lists experiment results with p-values and warns of a sample ratio mismatch', async () => {
  // Another site: 30 sessions in variation 0 (3 converted), 5 in variation 1 (3 converted) of an
  // even split: variation 1 converts better (p < 0.05) and the split is off (SRM p < 0.001).
  const now = Date.now();
  const events = Array.from({ length: 35 }, (_, i) => ({
    id: (i + 1).toString(16).padStart(32, '0'), t: 'session_summary', ts: now, sid: 's' + i, aid: 'a' + i, seq: 1, url: '/',
    props: { started_at: now - 1000, converted: i < 3 || (i >= 30 && i < 33), experiments: { hero: i < 30 ? 0 : 1 }, final: true },
  }));
  const res = await fetch(collector.url + '/v1/batch', { method: 'POST', body: JSON.stringify({ v: 1, site: 'exp-site', sent_at: now, events }) });
  assert.equal((await res.json()).accepted, 35);
  const { page, errors } = await openDashboard('?site=exp-site');
  await page.waitForSelector('#experiments td.warn', { timeout: 10000 });
  const rows = await page.locator('#experiments tbody tr').evaluateAll((trs) =>
    trs.map((r) => ({ significant: r.classList.contains('significant'), cells: [...r.cells].map((c) => c.textContent) })));
  assert.deepEqual(rows[0], { significant: false, cells: ['hero', '0', '30', '10.0%', '–', '–', '–'] });
  assert.equal(rows[1].significant, true);
  assert.deepEqual(rows[1].cells.slice(0, 5), ['hero', '1', '5', '60.0%', '500.0%']);
  assert.ok(Number(rows[1].cells[5]) < 0.05, rows[1].cells[5]);
  assert.match(rows[2].cells[0], /hero: sample ratio mismatch/);
  assert.deepEqual(errors, []);
  await page.close();
});
