// Takes the README screenshots from the real pages: starts the collector on a temporary
// database, sends shopper sessions through the SDK, then captures the storefront and the
// dashboard. Run after scripts/build.sh: node scripts/screenshots.mjs
import { startCollector, launchBrowser, shop, PHONE_UA } from '../tests/e2e/harness.mjs';

const collector = await startCollector();
const browser = await launchBrowser();
// Every third shopper on a phone.
const phone = await launchBrowser(['--user-agent=' + PHONE_UA]);
const on = (n) => (n % 3 === 1 ? phone : browser);
try {
  const visits = [
    ['?utm_source=newsletter&utm_medium=email&utm_campaign=autumn', 7, 119],
    ['?gclid=abc', 4], ['?gclid=def', 7, 89], ['', 2], ['', 1], ['?utm_source=facebook&utm_medium=social', 3],
    ['?utm_source=instagram', 7, 74], ['', 5], ['?gclid=ghi', 6], ['', 3],
  ];
  let n = 0;
  for (const [landing, depth, value] of visits) {
    n += 1;
    await shop(on(n), collector.url, { landing, depth, order: depth === 7 ? `SHOT-${n}` : null, value: value || 119 });
  }
  // Shoppers through the real storefront pages (dataLayer only), exposed to the cart page's
  // checkout-button experiment; every other one buys.
  // Each runs on Playwright's clock, moved on by a shopper's reading time between steps (so the
  // dashboard's session duration is a shopper's, not a script's fraction of a second); the
  // collector corrects the times by each batch's sent_at, as for any page with a wrong clock.
  for (let i = 0; i < 16; i++) {
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
    if (i % 2 === 0) {
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
