// Browser benchmark of the built SDK in headless Chromium (DESIGN.md §13, issue "Benchmarks and
// size"). Run after `bash scripts/build.sh` and `cargo build -p funnelcake-collector`:
//
//   node bench/browser/run.mjs            # prints the table
//   node bench/browser/run.mjs --write    # and records it in BENCHMARKS.md
//
// Measures: every byte the page loads for the SDK (raw, gzip -9, brotli 11); time from the
// script tag to the first event accepted; synchronous main-thread time per call for track() with
// three items and for page views (each call timed alone, median/p95/p99 over 10,000 calls, plus
// the mean from the total); CDP script and task duration; wasm linear memory and JS heap after
// the 10,000 events; wire bytes per event. Pages are served cross-origin isolated (COOP + COEP)
// so performance.now() has Chromium's finest resolution (measured and printed).
import http from 'node:http';
import os from 'node:os';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, startCollector, launchBrowser } from '../../tests/e2e/harness.mjs';

const CALLS = 10000;
const READY_RUNS = 15;
const write = process.argv.includes('--write');
const SDK_FILES = ['funnelcake.js', 'funnelcake.wasm'];
const SNIPPET = readFileSync(join(ROOT, 'dist', 'funnelcake', 'snippet.min.js'), 'utf8');

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const fmt = (n, d = 1) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

// A page server in front of the collector: pages with COOP/COEP, everything else proxied, and
// the bytes of every batch counted.
function pageServer(collectorUrl) {
  const wire = { bytes: 0, events: 0, batches: 0 };
  const pages = {
    '/ready.html': `<!doctype html><html><head><title>ready</title><script>${SNIPPET}</script>
<script>window.__t0 = performance.now();
funnelcake.on('metrics', function () { if (!window.__ready) window.__ready = performance.now() - window.__t0; });</script>
<script async src="/funnelcake/funnelcake.js" data-site="bench" data-endpoint="/v1/batch"></script></head><body>ready</body></html>`,
    '/calls.html': `<!doctype html><html><head><title>calls</title>
<script async src="/funnelcake/funnelcake.js" data-site="bench" data-endpoint="/v1/batch"></script>
</head><body>calls</body></html>`,
  };
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const path = req.url.split('?')[0];
    const isolation = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
    if (pages[path]) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...isolation });
      res.end(pages[path]);
      return;
    }
    if (path.startsWith('/funnelcake/')) {
      // The SDK files straight from dist/ (as a CDN would serve them), not through the proxy hop.
      const file = path.slice('/funnelcake/'.length);
      if (SDK_FILES.includes(file)) {
        const type = file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript';
        res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store', ...isolation });
        res.end(readFileSync(join(ROOT, 'dist', 'funnelcake', file)));
        return;
      }
    }
    if (req.method === 'POST' && path === '/v1/batch') {
      wire.bytes += body.length;
      wire.batches += 1;
      try { wire.events += JSON.parse(body.toString()).events.length; } catch { /* counted as bytes only */ }
    }
    const up = await fetch(collectorUrl + req.url, {
      method: req.method, body: ['GET', 'HEAD'].includes(req.method) ? undefined : body,
      headers: { 'content-type': req.headers['content-type'] || 'text/plain' },
    });
    const out = Buffer.from(await up.arrayBuffer());
    res.writeHead(up.status, { 'content-type': up.headers.get('content-type') || 'application/octet-stream', ...isolation });
    res.end(out);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${server.address().port}`, wire, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  })));
}

function sizes() {
  const rows = SDK_FILES.map((f) => {
    const buf = readFileSync(join(ROOT, 'dist', 'funnelcake', f));
    // The gzip CLI, as scripts/size-check.sh measures (node's zlib output differs by a few bytes).
    return { file: f, raw: buf.length, gzip: execFileSync('gzip', ['-9', '-c', join(ROOT, 'dist', 'funnelcake', f)]).length,
      brotli: zlib.brotliCompressSync(buf, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length };
  });
  rows.push(rows.reduce((t, r) => ({ file: 'total', raw: t.raw + r.raw, gzip: t.gzip + r.gzip, brotli: t.brotli + r.brotli }),
    { raw: 0, gzip: 0, brotli: 0 }));
  return rows;
}

async function readyTimes(browser, base) {
  const times = [];
  let loaded = [];
  for (let i = 0; i < READY_RUNS; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(base + '/ready.html');
    await page.waitForFunction(() => window.__ready !== undefined, null, { timeout: 15000 });
    times.push(await page.evaluate(() => window.__ready));
    if (i === 0) {
      loaded = await page.evaluate(() => performance.getEntriesByType('resource')
        .filter((e) => e.name.includes('/funnelcake/')).map((e) => e.name.split('/').pop()));
    }
    await context.close();
  }
  times.sort((a, b) => a - b);
  return { median: quantile(times, 0.5), p95: quantile(times, 0.95), min: times[0], loaded };
}

async function callCosts(browser, base, server) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(base + '/calls.html');
  await page.waitForFunction(() => window.funnelcake && window.funnelcake.ready === true);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const metric = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));

  const resolution = await page.evaluate(() => {
    let min = Infinity;
    for (let i = 0; i < 20000; i++) {
      const a = performance.now();
      let b = performance.now();
      while (b === a) b = performance.now();
      min = Math.min(min, b - a);
    }
    return { ms: min, isolated: self.crossOriginIsolated };
  });

  const run = async (kind) => {
    const before = await metric();
    const r = await page.evaluate(async ({ kind, n }) => {
      const fc = window.funnelcake;
      const items = [
        { item_id: 'TR-1', item_name: 'Trail Runner', item_brand: 'Cakewalk', item_category: 'Footwear', price: 119, quantity: 1 },
        { item_id: 'SK-2', item_name: 'Merino Hiking Socks', item_category: 'Accessories', price: 18, quantity: 2 },
        { item_id: 'TP-5', item_name: 'Trekking Poles', item_category: 'Accessories', price: 57, quantity: 1 },
      ];
      // Bursts of 20 calls (a busy page), then the page yields so the SDK's deferred work
      // (storage writes, sends) runs as it would; only the calls themselves are timed.
      const each = new Float64Array(n);
      let total = 0;
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        if (kind === 'track') fc.track('add_to_cart', { currency: 'USD', value: 212, items });
        else fc.page({ n: i });
        const dt = performance.now() - t;
        each[i] = dt;
        total += dt;
        if (i % 20 === 19) await new Promise((r) => setTimeout(r, 0));
      }
      return { each: Array.from(each).sort((a, b) => a - b), total };
    }, { kind, n: CALLS });
    const after = await metric();
    return {
      median: quantile(r.each, 0.5) * 1000, p95: quantile(r.each, 0.95) * 1000, p99: quantile(r.each, 0.99) * 1000,
      mean: (r.total / CALLS) * 1000,
      script: ((after.ScriptDuration - before.ScriptDuration) / CALLS) * 1e6,
      task: ((after.TaskDuration - before.TaskDuration) / CALLS) * 1e6,
    };
  };
  const track = await run('track');
  const pageViews = await run('page');
  await page.evaluate(() => window.funnelcake.flush());
  const memory = await page.evaluate(() => {
    const st = window.funnelcake.debugState();
    return { wasm: st.memoryBytes, pending: st.pending };
  });
  const heap = await cdp.send('Runtime.getHeapUsage');
  await context.close();
  return { resolution, track, pageViews, memory: { ...memory, jsHeap: heap.usedSize }, wire: { ...server.wire } };
}

function chromiumVersion() {
  try {
    return execFileSync('/usr/bin/chromium', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch { return 'Chromium'; }
}


const collector = await startCollector();
const server = await pageServer(collector.url);
const browser = await launchBrowser();
const context = await browser.newContext();
const page = await context.newPage();
await page.goto(server.url + '/calls.html');
await page.waitForFunction(() => window.funnelcake && window.funnelcake.ready === true);
const cdp = await context.newCDPSession(page);
await cdp.send('Profiler.enable');
await cdp.send('Profiler.setSamplingInterval', { interval: 20 });
const runCalls = () => page.evaluate(async () => {
  const fc = window.funnelcake;
  const items = [
    { item_id: 'TR-1', item_name: 'Trail Runner', item_brand: 'Cakewalk', item_category: 'Footwear', price: 119, quantity: 1 },
    { item_id: 'SK-2', item_name: 'Merino Hiking Socks', item_category: 'Accessories', price: 18, quantity: 2 },
    { item_id: 'TP-5', item_name: 'Trekking Poles', item_category: 'Accessories', price: 57, quantity: 1 },
  ];
  let total = 0;
  for (let i = 0; i < 5000; i++) {
    const t = performance.now();
    fc.track('add_to_cart', { currency: 'USD', value: 212, items });
    total += performance.now() - t;
    if (i % 20 === 19) await new Promise((r) => setTimeout(r, 0));
  }
  return total / 5000 * 1000;
});
console.log('warm mean us', await runCalls());
await cdp.send('Profiler.start');
console.log('profiled mean us', await runCalls());
const { profile } = await cdp.send('Profiler.stop');
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
profile.samples.forEach((id, k) => self.set(id, (self.get(id) || 0) + (profile.timeDeltas[k + 1] || 0)));
const agg = new Map();
for (const [id, us] of self) {
  const n = byId.get(id); const key = n.callFrame.functionName + ' ' + n.callFrame.url.split('/').pop() + ':' + n.callFrame.lineNumber + ':' + n.callFrame.columnNumber;
  agg.set(key, (agg.get(key) || 0) + us);
}
const tot = [...agg.values()].reduce((a, b) => a + b, 0);
[...agg].sort((a, b) => b[1] - a[1]).slice(0, 40).forEach(([k, us]) => console.log((us / 1000).toFixed(1).padStart(7), 'ms', (100 * us / tot).toFixed(1).padStart(5) + '%', k));
await browser.close(); await server.close(); await collector.stop();
