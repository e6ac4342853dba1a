// Helpers shared by the browser benchmarks (bench/browser, bench/peers): percentiles, number
// formatting, compressed sizes, the machine line and the BENCHMARKS.md section writer.
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../tests/e2e/harness.mjs';
import { brotli } from '../scripts/brotli.mjs';

/** The value at quantile `q` of an ascending list. */
export const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
/** ms → µs rounded to 0.1, so a reading of exactly a target compares as what it prints. */
export const us = (ms) => Math.round(ms * 10000) / 10;
/** `n` with `d` decimals and thousands separators. */
export const fmt = (n, d = 1) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
/** An integer with thousands separators. */
export const int = (n) => Math.round(n).toLocaleString('en-US');

/** Raw, gzip -9 (the gzip CLI, as scripts/size-check.sh measures: node's zlib differs by a few
 * bytes) and brotli 11 sizes of a file. */
export function sizesOf(path) {
  const buf = readFileSync(path);
  return { raw: buf.length, gzip: execFileSync('gzip', ['-9', '-n', '-c', path]).length,
    brotli: brotli(buf, path).length };
}

/** The sum of `sizesOf` results. */
export const totalSizes = (sizes) => sizes.reduce((t, s) => ({ raw: t.raw + s.raw, gzip: t.gzip + s.gzip, brotli: t.brotli + s.brotli }),
  { raw: 0, gzip: 0, brotli: 0 });

/** What ran the benchmark: CPU, cores, memory, OS, Chromium and node versions. */
export function machine() {
  let chromium = 'Chromium';
  try {
    chromium = execFileSync('/usr/bin/chromium', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch { /* the generic name */ }
  return `${os.cpus()[0].model}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GB, ` +
    `${os.type()} ${os.release()}, ${chromium} headless, node ${process.version}`;
}

/**
 * Replaces BENCHMARKS.md's `<!-- name:start -->` … `<!-- name:end -->` block with `lines`; the
 * first time, inserts it under `heading` before the section starting with `before`.
 */
export function writeSection(name, lines, heading, before) {
  const file = join(ROOT, 'BENCHMARKS.md');
  const md = readFileSync(file, 'utf8');
  const start = `<!-- ${name}:start -->`, end = `<!-- ${name}:end -->`;
  const block = `${start}\n${lines.join('\n')}\n${end}`;
  const next = md.includes(start)
    ? md.slice(0, md.indexOf(start)) + block + md.slice(md.indexOf(end) + end.length)
    : md.replace(before, `${heading}\n\n${block}\n\n${before}`);
  writeFileSync(file, next);
  console.log('\nwrote BENCHMARKS.md');
}

/** The three items of every benchmarked `track()` call, handed to the page functions below as
 * their `items` argument (a page function cannot see this module). */
export const ITEMS = [
  { item_id: 'TR-1', item_name: 'Trail Runner', item_brand: 'Cakewalk', item_category: 'Footwear', price: 119, quantity: 1 },
  { item_id: 'SK-2', item_name: 'Merino Hiking Socks', item_category: 'Accessories', price: 18, quantity: 2 },
  { item_id: 'TP-5', item_name: 'Trekking Poles', item_category: 'Accessories', price: 57, quantity: 1 },
];

/**
 * Runs in the page (`page.evaluate(burstCalls, {kind, n, items: ITEMS})`): `n` calls, each timed
 * alone with `performance.now()`, in bursts of 20 (a busy page), the page yielding between bursts
 * so the SDK's deferred work (recording, storage writes, sends) runs as it would. `kind`: 'track'
 * (`funnelcake.track('add_to_cart', …)` with three items), 'page' (`funnelcake.page()`), or
 * 'peer' (`window.__track(props)`, the same properties handed to whichever SDK the page set up).
 * Returns every call's time and the first call of each burst's, ascending, and their total (ms).
 */
export async function burstCalls({ kind, n, items }) {
  const fc = window.funnelcake, peer = window.__track;
  const each = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    if (kind === 'track') fc.track('add_to_cart', { currency: 'USD', value: 212, items });
    else if (kind === 'peer') peer({ currency: 'USD', value: 212, items });
    else fc.page({ n: i });
    const dt = performance.now() - t;
    each[i] = dt;
    total += dt;
    if (i % 20 === 19) await new Promise((r) => setTimeout(r, 0));
  }
  // The first call of each burst is what a page with one call per user action pays: it runs
  // with caches cooled by the task before it (and, for funnelcake, schedules its recording task).
  const first = Array.from(each).filter((_, i) => i % 20 === 0).sort((a, b) => a - b);
  return { each: Array.from(each).sort((a, b) => a - b), first, total };
}

/**
 * Runs in the page (`page.evaluate(firstCallParts, {bursts, items: ITEMS})`): what the first
 * call of a burst spends, part by part. Each burst times one part alone, then makes 20 real `track()` calls and
 * yields, so every part runs after the SDK's recording task, as `track()`'s own first call does
 * in `burstCalls`. The parts are what a lone `track()` does at the call: 'track' itself, a
 * `JSON.stringify` of its properties (the cheapest copy of them), reading `document.URL` (and `location.href`, the dearer way to the same text),
 * `document.title` and `Date.now()`, and arming a `setTimeout(0)` (what schedules the recording
 * task), with the two other ways to schedule a task for comparison (a `MessageChannel` message,
 * `scheduler.postTask`); 'nothing' times an empty span. Returns each part's times, ascending (ms).
 */
export async function firstCallParts({ bursts, items }) {
  const fc = window.funnelcake;
  const parts = {
    nothing: () => {},
    track: () => fc.track('add_to_cart', { currency: 'USD', value: 212, items }),
    stringify: () => JSON.stringify({ currency: 'USD', value: 212, items }),
    url: () => document.URL,
    href: () => location.href,
    title: () => document.title,
    now: () => Date.now(),
    setTimeout: () => setTimeout(() => {}, 0),
    postMessage: () => ch.port2.postMessage(0),
    postTask: () => (typeof scheduler === 'object' ? scheduler.postTask(() => {}) : null),
  };
  const ch = new MessageChannel();
  ch.port1.onmessage = () => {};
  const out = {};
  for (const [name, part] of Object.entries(parts)) {
    const times = [];
    for (let b = 0; b < bursts; b++) {
      const t = performance.now();
      window.__sink = part();
      times.push(performance.now() - t);
      for (let i = 0; i < 20; i++) fc.track('add_to_cart', { currency: 'USD', value: 212, items });
      await new Promise((r) => setTimeout(r, 0));
    }
    out[name] = times.sort((a, b) => a - b);
  }
  return out;
}
