// Takes the README screenshots from the real pages: starts the collector on a temporary
// database, sends shopper sessions through the SDK, then captures the storefront and the
// dashboard. Run after scripts/build.sh: node scripts/screenshots.mjs
//
// So that the dashboard has a period to compare with, the first shoppers visit "last month":
// the collector runs 35 days behind under libfaketime (Debian's `faketime` package:
// `apt-get install -y faketime`) and, as for any browser whose clock disagrees with it, puts
// their events at its own time. Then it is stopped and started again on the same database at
// the real time for the rest.
import { existsSync } from 'node:fs';
import { startCollector, launchBrowser, shop, waitFor, PHONE_UA } from '../tests/e2e/harness.mjs';

const FAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';
if (!existsSync(FAKETIME)) {
  console.error(`${FAKETIME} is missing: apt-get install -y faketime`);
  process.exit(1);
}
const browser = await launchBrowser();
// Every third shopper on a phone.
const phone = await launchBrowser(['--user-agent=' + PHONE_UA]);
const on = (n) => (n % 3 === 1 ? phone : browser);
let collector = await startCollector([], '127.0.0.1:0', null,
  { LD_PRELOAD: FAKETIME, FAKETIME: '-35d', FAKETIME_DONT_FAKE_MONOTONIC: '1' });
try {
  const lastMonth = [
    ['', 3], ['?gclid=abc', 7, 99], ['', 2], ['?utm_source=newsletter&utm_medium=email&utm_campaign=summer', 7, 149],
    ['', 4], ['', 1], ['?utm_source=facebook&utm_medium=social', 2], ['', 5], ['?gclid=xyz', 3],
  ];
  let n = 0;
  for (const [landing, depth, value] of lastMonth) {
    n += 1;
    await shop(on(n), collector.url, { landing, depth, order: depth === 7 ? `PAST-${n}` : null, value: value || 119 });
  }
  // Fewer storefront shoppers then, and only every third bought.
  for (let i = 0; i < 9; i++) await storefrontShopper(i, i % 3 === 0);
  await sessionsStored(lastMonth.length + 9);
  await collector.stopKeeping();
  collector = await startCollector([], '127.0.0.1:0', collector.dir);
  const visits = [
    ['?utm_source=newsletter&utm_medium=email&utm_campaign=autumn', 7, 119],
    ['?gclid=abc', 4], ['?gclid=def', 7, 89], ['', 2], ['', 1], ['?utm_source=facebook&utm_medium=social', 3],
    ['?utm_source=instagram', 7, 74], ['', 5], ['?gclid=ghi', 6], ['', 3],
  ];
  n = 0;
  for (const [landing, depth, value] of visits) {
    n += 1;
    await shop(on(n), collector.url, { landing, depth, order: depth === 7 ? `SHOT-${n}` : null, value: value || 119 });
  }
  for (let i = 0; i < 16; i++) await storefrontShopper(i, i % 2 === 0);
  await new Promise((r) => setTimeout(r, 1500));
  // The storefront as a shopper sees it mid-visit: a product page, one item in the cart, and
  // the corner widget with this visitor's own funnel.
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  await page.goto(collector.url + '/product.html?id=summit-fleece');
  await page.waitForFunction(() => window.funnelcake && window.funnelcake.ready === true);
  await page.click('#add');
  await page.waitForTimeout(300);
  await page.screenshot({ path: 'docs/storefront.png' });
  await page.goto(collector.url + '/dashboard.html');
  await page.waitForSelector('body[data-loaded="true"]');
  await page.waitForSelector('#live.on');
  await page.screenshot({ path: 'docs/dashboard.png', fullPage: true });
  console.log('wrote docs/storefront.png and docs/dashboard.png');
} finally {
  await phone.close();
  await browser.close();
  await collector.stop();
}

/**
 * A shopper through the real storefront pages (dataLayer only), exposed to the cart page's
 * checkout-button experiment, who buys when `buys`. Each runs on Playwright's clock, moved on by
 * a shopper's reading time between steps (so the dashboard's session duration is a shopper's,
 * not a script's fraction of a second); the collector corrects the times by each batch's
 * sent_at, as for any page with a wrong clock.
 */
async function storefrontShopper(i, buys) {
  const context = await on(i).newContext();
  await context.clock.install();
  const think = (s) => context.clock.fastForward(s * 1000 + (i % 5) * 7000);
  const p = await context.newPage();
  await p.goto(collector.url + '/product.html?id=' + ['trail-runner', 'ridge-daypack', 'summit-fleece', 'alpine-shell'][i % 4]);
  await p.waitForFunction(() => window.funnelcake && window.funnelcake.ready === true);
  await think(40);
  await p.click('#add');
  await think(10);
  await p.goto(collector.url + '/cart.html');
  await p.waitForFunction(() => window.funnelcake && window.funnelcake.ready === true);
  await think(20);
  if (buys) {
    await p.click('#checkout');
    await p.waitForURL(/step=contact/);
    await think(25);
    await p.fill('#email', `shopper${i}@example.com`);
    await p.click('#step-contact button');
    await think(30);
    await p.fill('#name', 'Shopper');
    await p.fill('#address', '1 Trail Road');
    await p.click('#step-shipping button');
    await think(20);
    await p.click('#place');
    await p.waitForURL(/confirmation/);
    await p.waitForFunction(() => window.funnelcake && window.funnelcake.ready === true);
  }
  await p.goto('about:blank');
  await context.close();
}

/** Waits until the collector has `n` sessions of the last 60 days (every page hide delivered). */
async function sessionsStored(n) {
  await waitFor(async () => {
    const res = await fetch(`${collector.url}/v1/sites/demo-shop/metrics?from=${Date.now() - 60 * 86400000}`);
    return (await res.json()).kpis.sessions === n;
  }, 20000, `${n} sessions at the collector`);
}
