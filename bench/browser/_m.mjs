import { startCollector, launchBrowser } from '../../tests/e2e/harness.mjs';
const c = await startCollector();
const b = await launchBrowser();
const p = await b.newPage();
await p.goto(c.url + '/');
await p.waitForFunction(() => window.funnelcake && window.funnelcake.ready === true);
console.log(await p.evaluate(() => {
  const N = 100000; const out = {};
  const time = (name, fn) => { let x; const t = performance.now(); for (let i = 0; i < N; i++) x = fn(); out[name] = ((performance.now() - t) / N * 1000).toFixed(3) + ' us'; return x; };
  time('pathname+search', () => location.pathname + location.search);
  time('href', () => location.href);
  time('referrer', () => document.referrer);
  time('title', () => document.title);
  time('host', () => location.host);
  time('Date.now', () => Date.now());
  time('full ctx', () => JSON.stringify({ ts: Date.now(), url: location.pathname + location.search, ref: document.referrer, title: document.title, host: location.host }));
  const items = [
    { item_id: 'TR-1', item_name: 'Trail Runner', item_brand: 'Cakewalk', item_category: 'Footwear', price: 119, quantity: 1 },
    { item_id: 'SK-2', item_name: 'Merino Hiking Socks', item_category: 'Accessories', price: 18, quantity: 2 },
    { item_id: 'TP-5', item_name: 'Trekking Poles', item_category: 'Accessories', price: 57, quantity: 1 },
  ];
  const props = { currency: 'USD', value: 212, items };
  time('stringify props', () => JSON.stringify(props));
  return out;
}));
await b.close(); await c.stop();
