// Takes the README screenshots from the real pages: starts the collector on a temporary
// database, sends shopper sessions through the SDK, then captures the storefront and the
// dashboard. Run after scripts/build.sh: node scripts/screenshots.mjs
import { startCollector, launchBrowser, shop } from '../tests/e2e/harness.mjs';

const collector = await startCollector();
const browser = await launchBrowser();
try {
  const visits = [
    ['?utm_source=newsletter&utm_medium=email&utm_campaign=autumn', 7, 119],
    ['?gclid=abc', 4], ['?gclid=def', 7, 89], ['', 2], ['', 1], ['?utm_source=facebook&utm_medium=social', 3],
    ['?utm_source=instagram', 7, 74], ['', 5], ['?gclid=ghi', 6], ['', 3],
  ];
  let n = 0;
  for (const [landing, depth, value] of visits) {
    n += 1;
    await shop(browser, collector.url, { landing, depth, order: depth === 7 ? `SHOT-${n}` : null, value: value || 119 });
  }
  await new Promise((r) => setTimeout(r, 1500));
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  await page.goto(collector.url + '/');
  await page.waitForFunction(() => window.funnelcake && window.funnelcake.ready === true);
  await page.screenshot({ path: 'docs/storefront.png' });
  await page.goto(collector.url + '/dashboard.html');
  await page.waitForSelector('body[data-loaded="true"]');
  await page.waitForSelector('#live.on');
  await page.screenshot({ path: 'docs/dashboard.png', fullPage: true });
  console.log('wrote docs/storefront.png and docs/dashboard.png');
} finally {
  await browser.close();
  await collector.stop();
}
