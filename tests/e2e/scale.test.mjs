// Beyond one machine (DESIGN.md §13): two collectors on one ClickHouse behind a round-robin
// balancer. The page, the SDK and every read go through the balancer, so consecutive batches and
// reads land on different collectors. Needs FC_E2E_CLICKHOUSE (scripts/test.sh's second pass
// sets it): with SQLite, two collectors cannot share a store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCollector, launchBrowser, sdkPage, expectExactlyOnce, forward, pageServer } from './harness.mjs';

const SITE = 'delivery';

/**
 * A load balancer on its own port: each request goes to the next backend in turn, and to the
 * one after when a backend does not answer (as a balancer's health check would take it out).
 * `served` counts the batches each backend stored.
 */
async function startBalancer(backends, pages) {
  let next = 0;
  const served = backends.map(() => 0);
  const server = await pageServer(pages, async (req, res, body, path) => {
    for (let tries = 0; tries < backends.length; tries++) {
      const i = next++ % backends.length;
      try {
        const up = await forward(backends[i], req, body);
        if (req.method === 'POST' && path === '/v1/batch' && up.status === 200) served[i] += 1;
        res.writeHead(up.status, up.headers);
        res.end(up.body);
        return;
      } catch {
        // Not answering: the next backend.
      }
    }
    res.writeHead(502);
    res.end();
  });
  return { ...server, served };
}

test('two collectors on one ClickHouse behind a balancer: each event stored once, through either, and one may stop',
  { skip: !process.env.FC_E2E_CLICKHOUSE && 'needs FC_E2E_CLICKHOUSE (the collectors share a ClickHouse)' },
  async () => {
    // One directory: the harness names the ClickHouse database after it, so both share it.
    const dir = mkdtempSync(join(tmpdir(), 'fc-e2e-'));
    const a = await startCollector([], '127.0.0.1:0', dir);
    const b = await startCollector([], '127.0.0.1:0', dir);
    const lb = await startBalancer([a.url, b.url], { '/t/eager.html': sdkPage({ 'flush-at': 5 }) });
    const browser = await launchBrowser();
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(lb.url + '/t/eager.html');
      await page.waitForFunction(() => window.funnelcake && window.funnelcake.ready === true);
      const track = (marks) => page.evaluate(async (marks) => {
        for (const mark of marks) {
          window.funnelcake.track('custom_event', { mark });
          await new Promise((r) => setTimeout(r, 5));
        }
        await window.funnelcake.flush();
      }, marks);
      const first = Array.from({ length: 60 }, (_, i) => `lb-${i}`);
      await track(first);
      // Reads through the balancer alternate too: whichever collector answers sees every event.
      await expectExactlyOnce(assert, lb.url, SITE, first);
      assert.ok(lb.served[0] > 0 && lb.served[1] > 0, `batches reached both collectors: ${lb.served}`);

      // One collector stops (a deploy, a crash): the other takes every batch, and nothing is lost
      // or doubled, including what the stopped one had stored.
      await a.stop();
      const second = Array.from({ length: 60 }, (_, i) => `lb-after-${i}`);
      await track(second);
      await expectExactlyOnce(assert, b.url, SITE, [...first, ...second]);
      // The delivery counts are one set for the site, whichever collector counted.
      const ingest = await (await fetch(`${b.url}/v1/sites/${SITE}/ingest`)).json();
      const stored = (await (await fetch(`${b.url}/v1/sites/${SITE}/events?limit=10000`)).json()).events.length;
      assert.equal(ingest.ingest.totals.accepted, stored);
      assert.deepEqual(errors, []);
      await context.close();
    } finally {
      await browser.close();
      await lb.stop();
      await a.stop();
      await b.stop();
    }
  });
