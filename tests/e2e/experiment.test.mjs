// A/B measurement end to end: a few hundred visitors are assigned in the browser, exposed once,
// buy at different rates, and the collector's experiment results match what the page saw; a
// deliberately skewed assignment trips the sample-ratio-mismatch warning.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCollectorAndBrowser, storedEvents, waitFor } from './harness.mjs';

const env = useCollectorAndBrowser({ before, after });
const VISITORS = 300;

async function results(key, query = '') {
  const res = await fetch(`${env.collector.url}/v1/sites/demo-shop/experiments/${key}${query}`);
  assert.equal(res.status, 200);
  return (await res.json()).experiment;
}

test('visitors split close to the weights, results match the page, a skewed split is flagged', async () => {
  const page = await env.browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(env.collector.url + '/');
  await page.waitForFunction(() => window.funnelcake && window.funnelcake.ready === true);
  const seen = await page.evaluate(async (visitors) => {
    const fc = window.funnelcake;
    const seen = { n: [0, 0], orders: [0, 0], revenue: [0, 0], sticky: true, skewed: [0, 0], left: [] };
    for (let i = 0; i < visitors; i++) {
      fc.reset(); // a new visitor: new anonymous id, new session
      const opts = { variations: ['Checkout', 'Buy now'] };
      const r = fc.experiment('checkout-button', opts);
      seen.sticky = seen.sticky && fc.experiment('checkout-button', opts).variation === r.variation;
      seen.n[r.variation]++;
      // The page deploys 80/20 while the analysis expects 50/50: a sample ratio mismatch.
      seen.skewed[fc.experiment('skewed', { variations: 2, weights: [0.8, 0.2] }).variation]++;
      // "Buy now" converts more often in this simulation.
      if (i % (r.variation === 1 ? 2 : 10) === 0) {
        const value = 50 + (i % 7);
        fc.purchase({ transaction_id: 'ab-' + i, value, currency: 'USD', items: [{ item_id: 'TR-1', price: value }] });
        seen.orders[r.variation]++;
        seen.revenue[r.variation] += value * 100;
      }
      // flush() resolves with what is still pending: nothing, once the collector has it all.
      if (i % 50 === 49) seen.left.push(await fc.flush());
    }
    fc.reset(); // ends the last visitor's session (its final summary)
    seen.left.push(await fc.flush());
    return seen;
  }, VISITORS);
  assert.deepEqual(errors, []);
  assert.ok(seen.sticky, 'the same visitor always gets the same variation');
  assert.equal(seen.n[0] + seen.n[1], VISITORS);
  assert.deepEqual(seen.left, [0, 0, 0, 0, 0, 0, 0], 'every flush() delivered everything');

  let e;
  await waitFor(async () => {
    e = await results('checkout-button');
    return e.sessions === VISITORS;
  }, 30000, `${VISITORS} exposed sessions stored`);
  assert.deepEqual(e.variations.map((v) => v.sessions), seen.n, 'sessions per variation as assigned in the page');
  assert.deepEqual(e.variations.map((v) => v.conversions), seen.orders, 'conversions per variation');
  assert.deepEqual(e.variations.map((v) => v.revenue[0]?.amount ?? 0), seen.revenue, 'revenue in minor units');
  // Equal weights, hashed ids: no mismatch (p ≥ 0.001 fails by chance 1 run in 1,000).
  assert.equal(e.srm.warning, false, `srm p=${e.srm.p_value} for ${seen.n}`);
  assert.ok(e.variations[1].lift > 0, 'the variation that converts more shows a positive lift');
  assert.ok(e.variations[1].p_value < 0.05, `p=${e.variations[1].p_value}`);

  // Exposure is logged once per visitor and experiment, not per call.
  const events = await storedEvents(env.collector.url, 'demo-shop', 10000);
  const exposures = events.filter((x) => x.t === 'experiment_viewed' && x.props.experiment_id === 'checkout-button');
  assert.equal(exposures.length, VISITORS);

  const skewed = await results('skewed', '?weights=0.5,0.5');
  assert.deepEqual(skewed.variations.map((v) => v.sessions), seen.skewed);
  assert.ok(seen.skewed[0] > seen.skewed[1] * 2, `the page split ${seen.skewed}`);
  assert.equal(skewed.srm.warning, true, `srm p=${skewed.srm.p_value}`);
  assert.ok(skewed.srm.p_value < 0.001);
  // Measured against the weights actually deployed, the same split is fine.
  const deployed = (await results('skewed', '?weights=0.8,0.2')).srm;
  assert.equal(deployed.warning, false, `srm p=${deployed.p_value} for ${seen.skewed} (p < 0.001 happens by chance 1 run in 1,000)`);
  await page.close();
});
