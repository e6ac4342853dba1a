// First view and repeat view of the demo storefront, as a shopper's browser loads it from the
// collector over a network with a round-trip time: what the SDK costs the page when its files
// are already in the browser's cache. Run after `bash scripts/build.sh` and
// `cargo build -p funnelcake-collector`:
//
//   node bench/browser/repeat.mjs            # prints the table (RTT 100 ms, 15 visitors)
//   node bench/browser/repeat.mjs --write    # and records it in BENCHMARKS.md
//   FC_COLLECTOR_BIN=<another build> node bench/browser/repeat.mjs   # the same against it
//
// Each visitor is a fresh browser context (an empty HTTP cache) that opens the home page twice.
// The RTT is Chromium's own network emulation (CDP `Network.emulateNetworkConditions`, latency
// added to every request), bandwidth unthrottled. Ready is `funnelcake.ready` becoming true, in
// ms from navigation start, polled every 1 ms (the browser clamps it to about 4: the figure is
// at most that late). The wasm's figures are its Resource Timing entry: transferSize 0 means the
// browser took it from its cache without asking the server.
import { ROOT, startCollector, launchBrowser } from '../../tests/e2e/harness.mjs';
import { quantile, fmt, int, machine, writeSection } from '../common.mjs';

const RTT = 100;
const VISITORS = 15;
const write = process.argv.includes('--write');

const collector = await startCollector();
const browser = await launchBrowser();

async function view(context) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: RTT, downloadThroughput: -1, uploadThroughput: -1 });
  await page.addInitScript(() => {
    (function poll() {
      if (window.funnelcake && window.funnelcake.ready === true) window.__ready = performance.now();
      else setTimeout(poll, 1);
    })();
  });
  await page.goto(collector.url + '/');
  await page.waitForFunction(() => window.__ready, null, { timeout: 30000, polling: 50 });
  const r = await page.evaluate(() => {
    const sdk = (f) => performance.getEntriesByType('resource').find((e) => new URL(e.name).pathname.endsWith('/funnelcake/' + f));
    const js = sdk('funnelcake.js'), wasm = sdk('funnelcake.wasm');
    return { ready: window.__ready, jsEnd: js.responseEnd, wasmEnd: wasm.responseEnd, jsTransfer: js.transferSize, wasmTransfer: wasm.transferSize };
  });
  await page.close();
  return r;
}

const first = [], repeat = [];
try {
  for (let i = 0; i < VISITORS; i++) {
    const context = await browser.newContext();
    first.push(await view(context));
    repeat.push(await view(context));
    await context.close();
  }
} finally {
  await browser.close();
  await collector.stop();
}

const med = (rows, k) => quantile(rows.map((r) => r[k]).sort((a, b) => a - b), 0.5);
const row = (name, rows) => `| ${name} | ${fmt(med(rows, 'ready'))} ms | ${fmt(med(rows, 'jsEnd'))} ms | ${fmt(med(rows, 'wasmEnd'))} ms | ` +
  `${int(med(rows, 'jsTransfer'))} B | ${int(med(rows, 'wasmTransfer'))} B |`;
const lines = [
  `Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}.`,
  `Command: \`node bench/browser/repeat.mjs --write\` (after \`bash scripts/build.sh\`); ${VISITORS} visitors, each a fresh browser context opening the demo home page twice from the collector, ${RTT} ms round trip emulated by Chromium. Medians, ms from navigation start.`,
  '',
  '| view | ready | funnelcake.js received | funnelcake.wasm received | funnelcake.js transferred | funnelcake.wasm transferred |',
  '| --- | ---: | ---: | ---: | ---: | ---: |',
  row('first', first),
  row('repeat', repeat),
];
console.log(lines.join('\n'));
if (write) writeSection('bench/browser/repeat', lines, '### First and repeat views over a network (bench/browser/repeat.mjs)', '### Main-thread cost per `track()`, step by step');
