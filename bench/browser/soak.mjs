// Memory soak of the built SDK in headless Chromium: one page, one session, a long run of mixed
// calls (page views, add-to-cart and view-item with 0–5 items, custom events with up to 2,000
// characters of text, purchases with distinct order ids), in bursts of 20 with a yield between,
// and the wasm linear memory printed after each tenth of the run (after a `flush()`). Run after
// `bash scripts/build.sh` and `cargo build -p funnelcake-collector`:
//
//   node bench/browser/soak.mjs                  # 100,000 calls, dist/funnelcake
//   node bench/browser/soak.mjs 400000 some/dist # another count, another build of the SDK
//
// The same sequence of calls in every run (a seeded generator), so two builds compare. Until
// 2026-11-23 each purchase added an order to the session's metrics for good, so memory in use
// grew with the run; the session's figures now follow its first 50 orders (METRICS.md), so what
// grows is what the allocator keeps, which shows as the difference between builds.
import { join } from 'node:path';
import { ROOT, startCollector, launchBrowser } from '../../tests/e2e/harness.mjs';
import { pageServer } from './server.mjs';

const CALLS = Number(process.argv[2] || 100000);
const DIST = process.argv[3] || join(ROOT, 'dist', 'funnelcake');

const collector = await startCollector();
const server = await pageServer(collector.url, DIST);
const browser = await launchBrowser();
try {
  const page = await (await browser.newContext()).newPage();
  await page.goto(server.url + '/calls.html');
  await page.waitForFunction(() => window.funnelcake && window.funnelcake.ready === true);
  const samples = await page.evaluate(async (n) => {
    const fc = window.funnelcake;
    const out = [];
    let seed = 7;
    const below = (k) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % k; };
    for (let i = 1; i <= n; i++) {
      const kind = below(10);
      const items = [];
      for (let j = below(6); j > 0; j--) {
        items.push({ item_id: 'SKU-' + below(1000), item_name: 'x'.repeat(below(120)), price: below(10000) / 100, quantity: 1 + below(3) });
      }
      if (kind < 3) fc.page({ n: i, pad: 'y'.repeat(below(300)) });
      else if (kind < 6) fc.track('add_to_cart', { currency: 'USD', value: 212, items });
      else if (kind < 8) fc.track('view_item', { currency: 'EUR', items: items.slice(0, 1) });
      else if (kind < 9) fc.track('custom_' + below(50), { text: 'z'.repeat(below(2000)) });
      else fc.track('purchase', { transaction_id: 'T' + i, currency: 'USD', value: 10, items });
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 0));
      if (i % Math.ceil(n / 10) === 0) {
        await fc.flush();
        out.push([i, fc.debugState().memoryBytes]);
      }
    }
    return out;
  }, CALLS);
  console.log(`wasm linear memory (MB) after each tenth of ${CALLS.toLocaleString('en-US')} calls, ${DIST}:`);
  console.log(samples.map(([i, b]) => `${i.toLocaleString('en-US')}: ${(b / 2 ** 20).toFixed(2)}`).join(', '));
} finally {
  await browser.close();
  await server.close();
  await collector.stop();
}
