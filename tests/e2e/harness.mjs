// Shared end-to-end harness: starts the real collector (SQLite in a temp dir, port 0) and a
// headless Chromium through playwright-core, and reads back what the collector stored.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/// Flags from DESIGN.md §3: no background traffic off this machine.
export const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Starts the collector binary; resolves once it prints its address. Stop with `.stop()`. */
export async function startCollector(extraArgs = [], addr = '127.0.0.1:0', existingDir = null, env = {}) {
  const dir = existingDir || mkdtempSync(join(tmpdir(), 'fc-e2e-'));
  // FC_COLLECTOR_BIN: another build of the collector (bench/browser/repeat.mjs compares two).
  const bin = process.env.FC_COLLECTOR_BIN || join(ROOT, 'target', 'debug', 'funnelcake-collector');
  // FC_E2E_CLICKHOUSE: the collector stores in ClickHouse instead, in a database named after
  // its directory (so a restart on the same directory finds its data, as with SQLite).
  const store = process.env.FC_E2E_CLICKHOUSE
    ? ['--clickhouse-url', process.env.FC_E2E_CLICKHOUSE,
      '--clickhouse-database', 'e2e_' + basename(dir).replace(/\W/g, '_')]
    : ['--db', join(dir, 'e2e.sqlite3')];
  const child = spawn(bin, ['--addr', addr, ...store, '--dev',
    '--www', join(ROOT, 'www'), '--sdk-dir', join(ROOT, 'dist', 'funnelcake'), ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'warn', ...env },
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('collector did not start: ' + stderr)), 15000);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`collector exited ${code}: ${stderr}`)); });
  });
  const stopChild = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  };
  const handle = {
    url,
    /** Stops the collector, waits 3 s, and starts it again on the same port and database. */
    async restart() {
      await stopChild();
      await new Promise((r) => setTimeout(r, 3000));
      const again = await startCollector(extraArgs, url.replace('http://', ''), dir);
      handle.stop = again.stop;
      handle.restart = again.restart;
    },
    async stop() {
      await stopChild();
      rmSync(dir, { recursive: true, force: true });
    },
    /** Stops the collector and keeps its database (`dir`), for another to start on. */
    async stopKeeping() {
      await stopChild();
    },
    dir,
  };
  return handle;
}

/**
 * A phone's User-Agent, for `launchBrowser(['--user-agent=' + PHONE_UA])`: Chromium's beacons and
 * keepalive fetches do not carry a context's emulated User-Agent (Playwright's `userAgent`
 * option), only the one the browser was started with.
 */
export const PHONE_UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36';

/**
 * Launches headless Chromium. `bfcache`: with the back/forward cache, which playwright turns off
 * by default (`--disable-back-forward-cache`) and real browsers have on.
 */
export async function launchBrowser(extraArgs = [], { bfcache = false } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: [...CHROMIUM_ARGS, ...extraArgs],
    ignoreDefaultArgs: bfcache ? ['--disable-back-forward-cache'] : undefined,
  });
}

/** A batch request's body as JSON text (a gzip one, marked `?enc=gzip`, unpacked), and whether it came gzip. */
export function batchBody(url, body) {
  const gzip = /[?&]enc=gzip(&|$)/.test(url);
  return { gzip, text: (gzip ? gunzipSync(body) : body).toString() };
}

/** Stored events of `site` (dev endpoint), newest first. */
export async function storedEvents(base, site, limit = 1000) {
  const res = await fetch(`${base}/v1/sites/${site}/events?limit=${limit}`);
  if (!res.ok) throw new Error(`events endpoint: ${res.status}`);
  return (await res.json()).events;
}

/** Polls `fn` until it returns a truthy value or `ms` pass. */
export async function waitFor(fn, ms = 15000, what = 'condition') {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A fault-injecting proxy in front of the collector, on its own port: pages are loaded through
 * it (so the SDK's relative endpoint reaches it). `setMode` changes what `POST /v1/batch` gets:
 * 'pass' (forwarded), 'slow' (forwarded after 400 ms), '503' (with Retry-After: 1), '400', or
 * 'drop' (the connection is destroyed: a network error for fetch and a lost beacon). Extra pages can be served from memory.
 */
export async function startProxy(target, pages = {}) {
  let mode = 'pass';
  const posts = [];
  const server = await pageServer(pages, async (req, res, body, path) => {
    if (req.method === 'POST' && path === '/v1/batch') {
      const { gzip, text } = batchBody(req.url, body);
      posts.push({ mode, gzip, body: text });
      if (mode === 'drop') { req.socket.destroy(); return; }
      if (mode === 'slow') await new Promise((r) => setTimeout(r, 400));
      if (mode === '503' || mode === '400') {
        const headers = { 'content-type': 'application/json' };
        if (mode === '503') headers['retry-after'] = '1';
        res.writeHead(Number(mode), headers);
        res.end(JSON.stringify({ error: 'injected', message: 'injected by the test proxy' }));
        return;
      }
    }
    try {
      const up = await forward(target, req, body);
      res.writeHead(up.status, up.headers);
      res.end(up.body);
    } catch (e) {
      res.writeHead(502);
      res.end();
    }
  });
  return { ...server, setMode(m) { mode = m; }, posts };
}

/**
 * An HTTP server on 127.0.0.1 (a free port) that serves `pages` (path → HTML) from memory and
 * hands every other request, its body read, to `handle(req, res, body, path)`.
 */
export async function pageServer(pages, handle) {
  const http = await import('node:http');
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const path = req.url.split('?')[0];
    if (pages[path]) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(pages[path]);
      return;
    }
    await handle(req, res, body, path);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    async stop() {
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
    },
  };
}

/**
 * Sends a request (whose body was read already) on to `target` as it came; resolves to the
 * answer's status, headers and body, or rejects when `target` does not answer.
 */
export async function forward(target, req, body) {
  const headers = { ...req.headers };
  for (const h of ['host', 'accept-encoding', 'content-length']) delete headers[h];
  const up = await fetch(target + req.url, {
    method: req.method, headers, body: ['GET', 'HEAD'].includes(req.method) ? undefined : body,
  });
  const out = Buffer.from(await up.arrayBuffer());
  const h = {};
  up.headers.forEach((v, k) => {
    if (!['content-encoding', 'content-length', 'transfer-encoding'].includes(k)) h[k] = v;
  });
  return { status: up.status, headers: h, body: out };
}

/** A minimal page embedding the SDK with the one-tag form and the given data-* attributes. */
export function sdkPage(attrs = {}) {
  const a = Object.entries({ site: 'delivery', endpoint: '/v1/batch', ...attrs })
    .map(([k, v]) => `data-${k}="${v}"`).join(' ');
  return `<!doctype html><html><head><title>delivery test</title>
<script async src="/funnelcake/funnelcake.js" ${a}></script></head><body><h1>test</h1></body></html>`;
}

/** Markers (`props.n` or `props.mark`) of stored events of `site`, with how often each occurs. */
export async function storedMarkers(base, site) {
  const events = await storedEvents(base, site, 10000);
  const counts = new Map();
  for (const e of events) {
    const m = e.props?.mark;
    if (m !== undefined) counts.set(m, (counts.get(m) || 0) + 1);
  }
  return counts;
}

/** Waits until every marker in `expected` is stored; then asserts each exactly once. */
export async function expectExactlyOnce(assert, base, site, expected, ms = 30000) {
  let counts;
  await waitFor(async () => {
    counts = await storedMarkers(base, site);
    return expected.every((m) => counts.has(m));
  }, ms, `${expected.length} events stored`).catch((e) => {
    const missing = expected.filter((m) => !counts?.has(m));
    throw new Error(`${e.message}; missing ${missing.length}: ${missing.slice(0, 10).join(', ')}`);
  });
  const dupes = expected.filter((m) => counts.get(m) !== 1);
  assert.deepEqual(dupes, [], 'no event stored twice');
}

/**
 * One shopper session on the demo page through the SDK: lands from `landing` (a query string
 * such as '?utm_source=newsletter&utm_medium=email'), goes through the first `depth` funnel
 * steps (1 = page view only … 7 = purchase), then leaves (the page hide sends the summary).
 */
export async function shop(browser, base, { landing = '', depth = 7, order = null, value = 119, currency = 'USD' } = {}) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(base + '/' + landing);
  await page.waitForFunction(() => window.funnelcake && window.funnelcake.ready === true);
  const m = await page.evaluate(({ depth, order, value, currency }) => {
    const fc = window.funnelcake;
    const item = { item_id: 'TR-1', item_name: 'Trail Runner', price: value, currency };
    const cart = { currency, items: [item] };
    if (depth >= 2) fc.viewItem(item);
    if (depth >= 3) fc.addToCart(item);
    if (depth >= 4) fc.beginCheckout(cart);
    if (depth >= 5) fc.checkoutStep('shipping', {});
    if (depth >= 6) fc.checkoutStep('payment', {});
    if (depth >= 7) fc.purchase({ transaction_id: order, value, currency, items: [item] });
    return fc.metrics();
  }, { depth, order, value, currency });
  // Leaving the page sends the session (events and summary) by beacon. The context is closed only
  // once the collector has the session's summary as it stood at the last call: closing it at once
  // can end the browser's network context before the beacon is out (a real tab's close does
  // not); a clean-clone CI run (2026-11-23) timed out waiting for the dashboard test's sessions.
  await page.goto('about:blank');
  await waitFor(async () => (await storedEvents(base, 'demo-shop', 10000)).some((e) =>
    e.t === 'session_summary' && e.sid === m.sessionId && e.props.funnel.furthest_index === m.funnel.furthestIndex),
  15000, `session ${m.sessionId} at the collector`);
  await context.close();
}

/**
 * Registers `before`/`after` hooks that start a collector and a browser for a test file, and
 * returns an object whose `collector` and `browser` are set once they run.
 */
export function useCollectorAndBrowser(hooks, { seed } = {}) {
  const env = { collector: null, browser: null };
  hooks.before(async () => {
    env.collector = await startCollector();
    env.browser = await launchBrowser();
    if (seed) await seed(env);
  });
  hooks.after(async () => {
    await env.browser?.close();
    await env.collector?.stop();
  });
  return env;
}
