// Browser benchmark of the built SDK in headless Chromium (DESIGN.md §13, issue "Benchmarks and
// size"). Run after `bash scripts/build.sh` and `cargo build -p funnelcake-collector`:
//
//   node bench/browser/run.mjs            # prints the table
//   node bench/browser/run.mjs --write    # and records it in BENCHMARKS.md
//
// Measures: every byte the page loads for the SDK (raw, gzip -9, brotli 11); time from script
// start to the first event accepted (DESIGN.md §13), broken down (the wasm downloaded, its
// instantiation asked for and done), and the browser's delay from the script tag to script
// start; synchronous main-thread time per call for track() with three items and for page views
// (each call timed alone, median/p95/p99 over 10,000 calls, plus the mean from the total), and
// what the first call of a burst spends, part by part; CDP script and task
// duration; wasm linear memory after the 10,000 track() events and after 10,000 page views more,
// JS heap; wire bytes per event; and the time of a fixed piece of script work, which tells
// machines apart. Pages are served cross-origin isolated (COOP + COEP) so performance.now() has
// Chromium's finest resolution (measured and printed).
import { join } from 'node:path';
import { ROOT, startCollector, launchBrowser } from '../../tests/e2e/harness.mjs';
import { pageServer, SDK_FILES } from './server.mjs';
import { quantile, us, fmt, sizesOf, totalSizes, int, machine, writeSection, burstCalls, firstCallParts, ITEMS } from '../common.mjs';

const CALLS = 10000;
const READY_RUNS = 30;
const PART_BURSTS = 400;
const write = process.argv.includes('--write');

function sizes() {
  const rows = SDK_FILES.map((f) => ({ file: f, ...sizesOf(join(ROOT, 'dist', 'funnelcake', f)) }));
  rows.push({ file: 'total', ...totalSizes(rows) });
  return rows;
}

async function readyTimes(browser, base) {
  const times = [];
  const phases = { start: [], wasm: [], run: [], inst0: [], inst1: [], own: [] };
  let loaded = [];
  for (let i = 0; i < READY_RUNS; i++) {
    const context = await browser.newContext();
    // When the glue asks the browser to compile and instantiate the wasm, and when it has: what
    // of the time after the download is the browser's compiling, and what the SDK's own start.
    await context.addInitScript(() => {
      const wasm = WebAssembly, streaming = wasm.instantiateStreaming;
      if (typeof streaming !== 'function') return;
      wasm.instantiateStreaming = function () {
        window.__inst0 = performance.now();
        return streaming.apply(this, arguments).then((r) => { window.__inst1 = performance.now(); return r; });
      };
    });
    const page = await context.newPage();
    await page.goto(base + '/ready.html');
    await page.waitForFunction(() => window.__ready !== undefined, null, { timeout: 15000 });
    const t = await page.evaluate(() => {
      const wasm = performance.getEntriesByType('resource').find((e) => new URL(e.name).pathname.endsWith('/funnelcake.wasm'));
      return { tag: window.__t0, start: window.__fcStart, wasm: wasm ? wasm.responseEnd : NaN, ready: window.__ready,
        inst0: window.__inst0, inst1: window.__inst1 };
    });
    times.push(t.ready - t.start);
    phases.start.push(t.start - t.tag);
    phases.wasm.push(t.wasm - t.start);
    phases.run.push(t.ready - t.wasm);
    phases.inst0.push(t.inst0 - t.start);
    phases.inst1.push(t.inst1 - t.start);
    phases.own.push(t.ready - t.inst1);
    if (i === 0) {
      loaded = await page.evaluate(() => performance.getEntriesByType('resource')
        .filter((e) => e.name.includes('/funnelcake/'))
        .map((e) => ({ file: e.name.split('/').pop(), received: e.encodedBodySize, decoded: e.decodedBodySize })));
    }
    await context.close();
  }
  const median = (list) => quantile([...list].sort((a, b) => a - b), 0.5);
  times.sort((a, b) => a - b);
  return { median: quantile(times, 0.5), p95: quantile(times, 0.95), min: times[0], loaded,
    tagToStart: median(phases.start), startToWasm: median(phases.wasm), wasmToReady: median(phases.run),
    instStart: median(phases.inst0), instEnd: median(phases.inst1), sdkStart: median(phases.own) };
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

  // The machine's speed, for comparing rounds measured on different machines: the same fixed
  // piece of script work every round (a three-item properties object through JSON.stringify and
  // JSON.parse 20,000 times), best of five, in ms.
  const speed = await page.evaluate((items) => {
    let best = Infinity;
    for (let round = 0; round < 5; round++) {
      const t = performance.now();
      for (let i = 0; i < 20000; i++) JSON.parse(JSON.stringify({ currency: 'USD', value: i, items }));
      best = Math.min(best, performance.now() - t);
    }
    return best;
  }, ITEMS);

  const run = async (kind) => {
    const before = await metric();
    const r = await page.evaluate(burstCalls, { kind, n: CALLS, items: ITEMS });
    const after = await metric();
    return {
      // µs, rounded to 0.1 so a reading of exactly the target (50 = 0.05 ms × 1000 in floating
      // point) compares as what it prints.
      median: us(quantile(r.each, 0.5)), p95: us(quantile(r.each, 0.95)), p99: us(quantile(r.each, 0.99)),
      firstMedian: us(quantile(r.first, 0.5)), firstP95: us(quantile(r.first, 0.95)),
      mean: (r.total / CALLS) * 1000,
      script: ((after.ScriptDuration - before.ScriptDuration) / CALLS) * 1e6,
      task: ((after.TaskDuration - before.TaskDuration) / CALLS) * 1e6,
    };
  };
  const memoryBytes = () => page.evaluate(() => window.funnelcake.debugState().memoryBytes);
  const track = await run('track');
  const afterTrack = await memoryBytes();
  const pageViews = await run('page');
  await page.evaluate(() => window.funnelcake.flush());
  const memory = await page.evaluate(() => {
    const st = window.funnelcake.debugState();
    return { wasm: st.memoryBytes, pending: st.pending, dropped: window.funnelcake.metrics().dropped };
  });
  memory.afterTrack = afterTrack;
  const heap = await cdp.send('Runtime.getHeapUsage');
  await context.close();
  return { resolution, speed, track, pageViews, memory: { ...memory, jsHeap: heap.usedSize }, wire: { ...server.wire } };
}

/** What the first call of a burst spends, part by part (bench/common.mjs `firstCallParts`), on a
 * page of its own: its 58,800 extra calls are not in the memory and wire figures. */
async function firstCallCosts(browser, base) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(base + '/calls.html');
  await page.waitForFunction(() => window.funnelcake && window.funnelcake.ready === true);
  const parts = await page.evaluate(firstCallParts, { bursts: PART_BURSTS, items: ITEMS });
  await context.close();
  return parts;
}

const collector = await startCollector();
const server = await pageServer(collector.url);
const browser = await launchBrowser();
let result;
try {
  const size = sizes();
  const ready = await readyTimes(browser, server.url);
  const calls = await callCosts(browser, server.url, server);
  const parts = await firstCallCosts(browser, server.url);
  result = { size, ready, ...calls, parts };
} finally {
  await browser.close();
  await server.close();
  await collector.stop();
}

const { size, ready, resolution, speed, track, pageViews, parts, memory, wire } = result;
const partRow = (label, name) => {
  const t = parts[name];
  return `| … ${label}: median / p95 (mean) | ${fmt(us(quantile(t, 0.5)))} / ${fmt(us(quantile(t, 0.95)))} µs (${fmt((t.reduce((a, b) => a + b, 0) / t.length) * 1000)}) | |`;
};
const total = size[size.length - 1];
const perEvent = wire.events ? wire.bytes / wire.events : 0;
const lines = [
  `Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}.`,
  `Command: \`node bench/browser/run.mjs --write\` (after \`bash scripts/build.sh\`).`,
  '',
  '| file the page loads | raw | gzip -9 | brotli 11 |',
  '| --- | ---: | ---: | ---: |',
  ...size.map((r) => `| ${r.file === 'total' ? '**total**' : r.file} | ${r.raw.toLocaleString('en-US')} | ${r.gzip.toLocaleString('en-US')} | ${r.brotli.toLocaleString('en-US')} |`),
  '',
  `Files the page fetched under /funnelcake/, with the bytes it received (brotli, as the collector serves them) and decoded: ${ready.loaded.map((f) => `${f.file} ${int(f.received)} / ${int(f.decoded)}`).join(', ')}; ${int(ready.loaded.reduce((t, f) => t + f.received, 0))} bytes received in all.`,
  '',
  '| figure | result | target (DESIGN.md §13) |',
  '| --- | ---: | --- |',
  `| gzip -9 total | ${total.gzip.toLocaleString('en-US')} B | ≤ 17,408 B: ${total.gzip <= 17408 ? 'met' : '**not met**'} |`,
  `| ready: script start → first event accepted, median of ${READY_RUNS} (p95, min) | ${fmt(ready.median)} ms (${fmt(ready.p95)}, ${fmt(ready.min)}) | ≤ 50 ms: ${ready.median <= 50 ? 'met' : '**not met**'} |`,
  `| … of which script start → wasm downloaded; then → first event accepted (medians) | ${fmt(ready.startToWasm)} / ${fmt(ready.wasmToReady)} ms | |`,
  `| … script start → the glue asks to instantiate the wasm; → instantiated (the browser's compiling); then instantiated → first event accepted (the SDK's start, with the compiling of what it runs first), medians | ${fmt(ready.instStart)} / ${fmt(ready.instEnd)}; ${fmt(ready.sdkStart)} ms | |`,
  `| before it: script tag → script start (the browser's async-script scheduling), median | ${fmt(ready.tagToStart)} ms | |`,
  `| track() with 3 items: median / p95 / p99 per call | ${fmt(track.median)} / ${fmt(track.p95)} / ${fmt(track.p99)} µs | median ≤ 5 µs: ${track.median <= 5 ? 'met' : '**not met**'}; p99 ≤ 50 µs: ${track.p99 <= 50 ? 'met' : '**not met**'} |`,
  `| track() mean (total ÷ ${CALLS.toLocaleString('en-US')}) | ${fmt(track.mean)} µs | |`,
  `| track(), first call of each burst of 20 (one call per user action pays this): median / p95 | ${fmt(track.firstMedian)} / ${fmt(track.firstP95)} µs | median ≤ 5 µs: ${track.firstMedian <= 5 ? 'met' : '**not met**'} |`,
  `| what a first call spends, each part timed alone as the first call of ${PART_BURSTS} bursts (after the SDK's task, as track()'s is): | | |`,
  partRow('track() itself', 'track'),
  partRow('`JSON.stringify` of its properties (the cheapest copy of them)', 'stringify'),
  partRow('reading `document.URL` (the address: path and query)', 'url'),
  partRow('or `location.href` instead (not used: dearer)', 'href'),
  partRow('reading `document.title`', 'title'),
  partRow('`Date.now()`', 'now'),
  partRow('arming a `setTimeout(0)` (what schedules the recording task)', 'setTimeout'),
  partRow('or a `MessageChannel` `postMessage` instead (not used: dearer)', 'postMessage'),
  partRow('or a `scheduler.postTask` instead (not used: dearer)', 'postTask'),
  partRow('an empty span (the timer alone)', 'nothing'),
  `| page(): median / p95 / p99 per call (mean) | ${fmt(pageViews.median)} / ${fmt(pageViews.p95)} / ${fmt(pageViews.p99)} µs (${fmt(pageViews.mean)}) | |`,
  `| CDP ScriptDuration / TaskDuration per track() | ${fmt(track.script)} / ${fmt(track.task)} µs | |`,
  `| CDP ScriptDuration / TaskDuration per page() | ${fmt(pageViews.script)} / ${fmt(pageViews.task)} µs | |`,
  `| wasm linear memory after ${CALLS.toLocaleString('en-US')} track() events (default config) | ${fmt(memory.afterTrack / 2 ** 20, 2)} MB | ≤ 2 MB: ${memory.afterTrack <= 2 * 2 ** 20 ? 'met' : '**not met**'} |`,
  `| wasm linear memory after ${(2 * CALLS).toLocaleString('en-US')} events (and ${CALLS.toLocaleString('en-US')} page views) | ${fmt(memory.wasm / 2 ** 20, 2)} MB | |`,
  `| JS heap used after them | ${fmt(memory.jsHeap / 2 ** 20, 2)} MB | |`,
  `| wire bytes per event (${wire.events.toLocaleString('en-US')} events in ${wire.batches} batches) | ${fmt(perEvent, 0)} B | ≤ 80 B (DESIGN.md §8, gzip): ${perEvent <= 80 ? 'met' : '**not met**'} |`,
  '',
  `Machine speed, to compare rounds measured on different machines: ${fmt(speed, 1)} ms for the same fixed script work in the page ` +
  '(the three-item properties through `JSON.stringify` and `JSON.parse` 20,000 times, best of five; lower is faster). ' +
  `Timer: performance.now() resolution measured at ${fmt(resolution.ms * 1000, 1)} µs (crossOriginIsolated: ${resolution.isolated}); ` +
  'single-call percentiles are quantised to it, the mean is not. Events still pending at the end: ' + memory.pending +
  '; dropped by the SDK (the session\'s `metrics().dropped`): ' + memory.dropped.total +
  (memory.dropped.total ? ` (${Object.entries(memory.dropped.byReason).map(([k, n]) => `${k} ${n}`).join(', ')})` : '') + '.',
];
console.log(lines.join('\n'));

if (write) writeSection('bench/browser', lines, '## SDK in the browser (bench/browser)', '## Collector');
