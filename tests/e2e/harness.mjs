// Shared end-to-end harness: starts the real collector (SQLite in a temp dir, port 0) and a
// headless Chromium through playwright-core, and reads back what the collector stored.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/// Flags from DESIGN.md §3: no background traffic off this machine.
export const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Starts the collector binary; resolves once it prints its address. Stop with `.stop()`. */
export async function startCollector(extraArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), 'fc-e2e-'));
  const bin = join(ROOT, 'target', 'debug', 'funnelcake-collector');
  const child = spawn(bin, ['--addr', '127.0.0.1:0', '--db', join(dir, 'e2e.sqlite3'), '--dev',
    '--www', join(ROOT, 'www'), '--sdk-dir', join(ROOT, 'dist', 'funnelcake'), ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'warn' },
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
  return {
    url,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS });
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
