// Walking skeleton: the demo page embeds the SDK with one script tag; the SDK sends a page_view
// in wire format v1; the collector validates and stores it in SQLite; we read it back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, useCollectorAndBrowser, storedEvents, waitFor } from './harness.mjs';

const env = useCollectorAndBrowser({ before, after });

test('the demo page sends a page_view that the collector stores', async () => {
  const page = await env.browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(env.collector.url + '/');
  await page.waitForFunction(() => window.funnelcake && window.funnelcake.ready === true, null, { timeout: 10000 });
  const ids = await page.evaluate(() => window.funnelcake.debugState());
  const title = await page.title();

  // No flush() call: the SDK's own timer (flushIntervalMs, default 5 s) sends the batch.
  const events = await waitFor(async () => {
    const list = await storedEvents(env.collector.url, 'demo-shop');
    return list.length ? list : null;
  }, 15000, 'the stored page_view');

  // The home page also pushes view_item_list to its dataLayer, which the SDK captures.
  assert.deepEqual(events.map((e) => e.t).sort(), ['page_view', 'view_item_list']);
  const pv = events.find((e) => e.t === 'page_view');
  assert.equal(pv.t, 'page_view');
  assert.equal(pv.url, '/');
  assert.equal(pv.title, title);
  assert.equal(pv.sid, ids.sessionId);
  assert.equal(pv.aid, ids.anonymousId);
  assert.match(pv.id, /^[0-9a-f]{32}$/);
  assert.equal(pv.seq, 1);
  assert.ok(Math.abs(pv.ts_corrected - Date.now()) < 60000, 'timestamp is recent');
  assert.equal(pv.ua.family, 'Chrome');

  // The stored event uses the same field names as the golden wire file.
  const golden = JSON.parse(readFileSync(join(ROOT, 'fixtures', 'batch-v1.json'), 'utf8')).events[0];
  for (const key of ['id', 't', 'ts', 'sid', 'aid', 'seq', 'url', 'title']) {
    assert.ok(key in golden && key in pv, key);
  }
  assert.deepEqual(errors, [], 'no errors thrown into the page');
  await page.close();
});

test('the collector serves the wasm with the application/wasm type', async () => {
  const res = await fetch(env.collector.url + '/funnelcake/funnelcake.wasm');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/wasm');
});

test('the browser gets the SDK compressed from the collector: the copies scripts/build.sh wrote', async () => {
  const page = await env.browser.newPage();
  await page.goto(env.collector.url + '/');
  await page.waitForFunction(() => window.funnelcake && window.funnelcake.ready === true, null, { timeout: 10000 });
  const loaded = await page.evaluate(() => performance.getEntriesByType('resource')
    .filter((r) => r.name.includes('/funnelcake/funnelcake.'))
    .map((r) => ({ file: new URL(r.name).pathname.split('/').pop(), encoded: r.encodedBodySize, decoded: r.decodedBodySize })));
  await page.close();
  const dist = join(ROOT, 'dist', 'funnelcake');
  assert.deepEqual(loaded.map((r) => r.file).sort(), ['funnelcake.js', 'funnelcake.wasm']);
  for (const r of loaded) {
    const raw = readFileSync(join(dist, r.file)).length;
    const copies = ['br', 'gz'].map((ext) => readFileSync(join(dist, `${r.file}.${ext}`)).length);
    assert.equal(r.decoded, raw, r.file);
    assert.ok(copies.includes(r.encoded), `${r.file}: ${r.encoded} bytes on the wire, copies of ${copies.join(' and ')}`);
  }
});

test("a repeat view takes this build's wasm from the browser's cache without asking; the script is revalidated", async () => {
  const dist = join(ROOT, 'dist', 'funnelcake');
  const version = createHash('sha256').update(readFileSync(join(dist, 'funnelcake.wasm'))).digest('hex').slice(0, 8);
  const context = await env.browser.newContext();
  const view = async () => {
    const page = await context.newPage();
    await page.goto(env.collector.url + '/');
    await page.waitForFunction(() => window.funnelcake && window.funnelcake.ready === true, null, { timeout: 10000 });
    const loaded = await page.evaluate(() => Object.fromEntries(performance.getEntriesByType('resource')
      .filter((r) => r.name.includes('/funnelcake/funnelcake.'))
      .map((r) => [new URL(r.name).pathname.split('/').pop(), { url: r.name, transfer: r.transferSize, decoded: r.decodedBodySize }])));
    await page.close();
    return loaded;
  };
  try {
    const first = await view();
    assert.equal(new URL(first['funnelcake.wasm'].url).search, `?v=${version}`);
    assert.ok(first['funnelcake.wasm'].transfer > 0 && first['funnelcake.js'].transfer > 0, JSON.stringify(first));
    const repeat = await view();
    // transferSize 0: served from the cache, no request made; the script's is the 304's headers.
    assert.equal(repeat['funnelcake.wasm'].transfer, 0, JSON.stringify(repeat));
    assert.equal(repeat['funnelcake.wasm'].decoded, readFileSync(join(dist, 'funnelcake.wasm')).length);
    assert.ok(repeat['funnelcake.js'].transfer > 0 && repeat['funnelcake.js'].transfer < 1000, JSON.stringify(repeat));
  } finally {
    await context.close();
  }
});

test('the shipped scripts contain no eval: nothing a strict CSP without unsafe-eval would block', () => {
  for (const file of ['funnelcake.js', 'funnelcake.mjs', 'funnelcake-widgets.js', 'snippet.min.js']) {
    const text = readFileSync(join(ROOT, 'dist', 'funnelcake', file), 'utf8');
    assert.doesNotMatch(text, /\bnew Function\b|\beval\(|\bFunction\(/, file);
  }
});
