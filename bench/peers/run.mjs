// funnelcake against the peers it must beat (issue "Benchmarks and size"), in one harness:
// Segment analytics-next, PostHog, Snowplow and Amplitude as a storefront ships them (their npm
// packages, versions pinned in bench/peers/package.json, bundled by esbuild: minified ES modules
// with code splitting, so lazily loaded parts are separate files fetched only if the page asks
// for them), and funnelcake's built dist/. Run after `bash scripts/build.sh`:
//
//   node bench/peers/run.mjs            # prints the table
//   node bench/peers/run.mjs --write    # and records it in BENCHMARKS.md
//
// The first run installs the peers (`npm ci` in bench/peers). For each SDK, in a fresh browser
// context of a page served cross-origin isolated (5 µs timer): the bytes of every script and wasm
// file the page fetched (raw, gzip -9, brotli 11); then 10,000 add-to-cart calls with the same
// three items, each timed alone (bench/common.mjs `burstCalls`, as bench/browser), CDP script and
// task duration per call until the SDK has sent everything (every event received and no request
// for a second, or no request for 10 s), the JS heap after a forced GC, and the requests, events
// and body bytes per event the local sink received.
//
// Chromium resolves no host but 127.0.0.1 (`--host-resolver-rules`): what an SDK asks of its
// vendor's servers (remote config, extensions) fails at once and never leaves the machine; those
// requests are listed. Every SDK runs with its defaults except where it sends (the sink),
// Amplitude's remote config (off) and PostHog's bot filter and client rate limit (see
// entries/posthog.js). GA4 (gtag.js) is not measured: it only loads from googletagmanager.com.
import http from 'node:http';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, launchBrowser } from '../../tests/e2e/harness.mjs';
import { quantile, us, fmt, int, sizesOf, totalSizes, machine, writeSection, burstCalls, ITEMS } from '../common.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const OUT = join(ROOT, 'target', 'peers');
const CALLS = 10000;
const PEERS = ['segment', 'posthog', 'snowplow', 'amplitude'];
const NAMES = { funnelcake: 'funnelcake', segment: 'Segment analytics-next', posthog: 'PostHog (posthog-js)',
  snowplow: 'Snowplow browser tracker', amplitude: 'Amplitude analytics-browser' };
const write = process.argv.includes('--write');
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const SDKS = ['funnelcake', ...PEERS].filter((s) => !only.length || only.includes(s));

/** Installs the pinned peers once, then bundles each entry (bench/peers/entries) into target/peers. */
function bundle() {
  if (!existsSync(join(HERE, 'node_modules', 'esbuild'))) {
    execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: HERE, stdio: 'inherit' });
  }
  const pkg = JSON.parse(readFileSync(join(HERE, 'package.json'), 'utf8')).devDependencies;
  const versions = {};
  for (const peer of PEERS) {
    const dir = join(OUT, peer);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    execFileSync(join(HERE, 'node_modules', '.bin', 'esbuild'), [join(HERE, 'entries', `${peer}.js`), '--bundle', '--minify',
      '--splitting', '--format=esm', '--target=es2017', '--legal-comments=none', '--log-level=warning', `--outdir=${dir}`],
    { stdio: 'inherit' });
    const dep = Object.keys(pkg).find((d) => readFileSync(join(HERE, 'entries', `${peer}.js`), 'utf8').includes(`from '${d}'`));
    versions[peer] = `${dep} ${pkg[dep]}`;
  }
  return versions;
}

const PAGE_HEAD = '<!doctype html><html><head><meta charset="utf-8"><title>peers</title>';
const pages = {
  // funnelcake as the README embeds it; `__track` is the same one-line wrapper every SDK gets.
  funnelcake: `${PAGE_HEAD}<script async src="/sdk/funnelcake/funnelcake.js" data-site="bench" data-endpoint="/v1/batch"></script>
<script>(function wait() { if (window.funnelcake && window.funnelcake.ready) { var fc = window.funnelcake;
window.__track = function (props) { return fc.track('add_to_cart', props); }; window.__ready = true; } else setTimeout(wait, 5); })();</script>
</head><body>peers</body></html>`,
};
for (const peer of PEERS) {
  pages[peer] = `${PAGE_HEAD}<script type="module" src="/sdk/${peer}/${peer}.js"></script>
<script type="module">window.__peer.init(location.origin).then(function () { window.__ready = true; });</script>
</head><body>peers</body></html>`;
}

/**
 * How many events a request body carries: a JSON array, or the array under `events` (funnelcake,
 * Amplitude), `batch` (PostHog, Segment's batch form) or `data` (Snowplow); gzip bodies
 * (PostHog) unpacked and a form's base64 `data=` decoded; 1 for anything else (Segment's single
 * event, a body that does not parse).
 */
function eventsIn(body) {
  try {
    let b = body;
    if (b[0] === 0x1f && b[1] === 0x8b) b = zlib.gunzipSync(b);
    let text = b.toString();
    if (text.startsWith('data=')) text = Buffer.from(decodeURIComponent(text.slice(5).split('&')[0]), 'base64').toString();
    const v = JSON.parse(text);
    const list = Array.isArray(v) ? v : v.events || v.batch || v.data;
    return Array.isArray(list) ? list.length : 1;
  } catch {
    return 1;
  }
}

/** The page server and sink: pages (COOP + COEP), SDK files from dist/ and target/peers, and a
 * 200 with a body every SDK takes as success for every POST (counted); anything else is 404. */
function server() {
  const seen = { files: new Set(), requests: 0, bytes: 0, events: 0, last: Date.now() };
  const isolation = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
  const srv = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const path = req.url.split('?')[0];
    const page = pages[path.slice(1, -'.html'.length)];
    if (req.method === 'GET' && page) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...isolation });
      return res.end(page);
    }
    const m = req.method === 'GET' && path.match(/^\/sdk\/([a-z]+)\/([\w.-]+\.(?:js|wasm))$/);
    const file = m && (m[1] === 'funnelcake' ? join(ROOT, 'dist', 'funnelcake', m[2]) : join(OUT, m[1], m[2]));
    if (file && PEERS.concat('funnelcake').includes(m[1]) && existsSync(file)) {
      seen.files.add(file);
      res.writeHead(200, { 'content-type': file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript', ...isolation });
      return res.end(readFileSync(file));
    }
    if (req.method === 'POST') {
      seen.requests += 1;
      const body = Buffer.concat(chunks);
      seen.bytes += body.length;
      seen.events += eventsIn(body);
      seen.last = Date.now();
      // Amplitude reads `code`, PostHog `status`; Segment, Snowplow and funnelcake only the HTTP status.
      res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
      return res.end('{"code":200,"status":1,"events_ingested":1}');
    }
    res.writeHead(404, isolation);
    res.end();
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${srv.address().port}`, seen,
    close: () => new Promise((r) => { srv.closeAllConnections(); srv.close(r); }),
  })));
}

async function measure(browser, base, seen, sdk) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const blocked = new Set();
  page.on('requestfailed', (r) => { if (!r.url().startsWith(base)) blocked.add(new URL(r.url()).host); });
  seen.files.clear();
  await page.goto(`${base}/${sdk}.html`);
  await page.waitForFunction(() => window.__ready === true, null, { timeout: 30000 });
  await page.waitForTimeout(1000); // what each SDK does after it is ready (its own first events)
  const files = [...seen.files];
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const metric = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((x) => [x.name, x.value]));
  const sentBefore = { requests: seen.requests, bytes: seen.bytes, events: seen.events };
  const before = await metric();
  const r = await page.evaluate(burstCalls, { kind: 'peer', n: CALLS, items: ITEMS });
  // Until everything is sent: every call's event received and no request for a second, or no
  // request for 10 s (longer than any of these SDKs' flush intervals), 60 s at most.
  const callsDone = Date.now();
  const quiet = () => Date.now() - seen.last;
  for (const end = callsDone + 60000; Date.now() < end;) {
    if (quiet() > 10000 || (seen.events - sentBefore.events >= CALLS && quiet() > 1000)) break;
    await page.waitForTimeout(200);
  }
  const settled = Math.max(0, seen.last - callsDone) / 1000;
  const after = await metric();
  await cdp.send('HeapProfiler.collectGarbage');
  const heap = await cdp.send('Runtime.getHeapUsage');
  await context.close();
  const size = totalSizes(files.map(sizesOf));
  return {
    sdk, files: files.length, size,
    median: us(quantile(r.each, 0.5)), p95: us(quantile(r.each, 0.95)), p99: us(quantile(r.each, 0.99)),
    first: us(quantile(r.first, 0.5)), mean: (r.total / CALLS) * 1000,
    script: ((after.ScriptDuration - before.ScriptDuration) / CALLS) * 1e6,
    task: ((after.TaskDuration - before.TaskDuration) / CALLS) * 1e6,
    heap: heap.usedSize, requests: seen.requests - sentBefore.requests, events: seen.events - sentBefore.events, bytes: seen.bytes - sentBefore.bytes,
    blocked: [...blocked], settled,
  };
}

const versions = bundle();
const funnelcakeVersion = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
if (!readdirSync(join(ROOT, 'dist', 'funnelcake')).includes('funnelcake.wasm')) throw new Error('run bash scripts/build.sh first');
const srv = await server();
const browser = await launchBrowser(['--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1']);
const rows = [];
try {
  for (const sdk of SDKS) {
    process.stderr.write(`measuring ${sdk}\n`);
    rows.push(await measure(browser, srv.url, srv.seen, sdk));
  }
} finally {
  await browser.close();
  await srv.close();
}

const lines = [
  `Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}.`,
  'Command: `node bench/peers/run.mjs --write` (after `bash scripts/build.sh`). Versions: ' +
    [`funnelcake ${funnelcakeVersion} (this tree)`, ...PEERS.filter((p) => SDKS.includes(p)).map((p) => versions[p])].join(', ') + '.',
  '',
  '| SDK | files | raw | gzip -9 | brotli 11 | track() median / p95 / p99 | first of burst | mean | CDP script / task per call | JS heap | requests | events received | body bytes per event | last request after the calls |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${NAMES[r.sdk]} | ${r.files} | ${int(r.size.raw)} | ${int(r.size.gzip)} | ${int(r.size.brotli)} | ` +
    `${fmt(r.median)} / ${fmt(r.p95)} / ${fmt(r.p99)} µs | ${fmt(r.first)} µs | ${fmt(r.mean)} µs | ` +
    `${fmt(r.script)} / ${fmt(r.task)} µs | ${fmt(r.heap / 2 ** 20, 2)} MB | ${int(r.requests)} | ${int(r.events)} | ${int(r.events ? r.bytes / r.events : 0)} | ${r.settled >= 59 ? '> 60' : fmt(r.settled)} s |`),
  '',
  `Per call: ${int(CALLS)} calls with the same three-item add-to-cart properties, in bursts of 20; single-call times are ` +
    'quantised to the 5 µs timer. CDP script / task duration: all the page\'s main-thread work during the calls and until the SDK ' +
    'had sent everything (deferred recording, storage, sends), per call. JS heap after a forced GC (funnelcake\'s wasm memory is ' +
    'not in it: bench/browser). Requests, events and body bytes: what the sink received from the first call until every ' +
    'call\'s event had arrived and a second passed without a request (or 10 s without one; 60 s at most), compressed bodies as ' +
    'sent; events counted in the bodies, so an SDK\'s own events (sessions, page views) sent meanwhile count too.',
  ...rows.filter((r) => r.blocked.length).map((r) => `${NAMES[r.sdk]} asked for (refused, never sent): ${r.blocked.join(', ')}.`),
];
console.log(lines.join('\n'));
if (write) writeSection('bench/peers', lines, '## Against the peers (bench/peers)', '## Collector');
