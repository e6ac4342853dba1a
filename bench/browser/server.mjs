// The page server of the browser benchmarks (bench/browser/run.mjs, soak.mjs): in front of the
// collector, it serves the test pages with COOP/COEP, the SDK's files from a `dist` directory
// (dist/funnelcake unless told; brotli to a browser that accepts it, as the collector does), proxies everything else, and counts the bytes of every batch.
import http from 'node:http';
import { brotli } from '../../scripts/brotli.mjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, batchBody } from '../../tests/e2e/harness.mjs';

export const SDK_FILES = ['funnelcake.js', 'funnelcake.wasm'];
const SNIPPET = readFileSync(join(ROOT, 'dist', 'funnelcake', 'snippet.min.js'), 'utf8');

const bodies = new Map();
/** A file of the SDK with `mark` before it, brotli-compressed as the build's `.br` copy if `br`; made once. */
function sdkBody(path, mark, br) {
  const key = `${path}|${mark}|${br}`;
  if (!bodies.has(key)) {
    const raw = Buffer.concat([Buffer.from(mark), readFileSync(path)]);
    bodies.set(key, br ? brotli(raw, path) : raw);
  }
  return bodies.get(key);
}

export function pageServer(collectorUrl, dist = join(ROOT, 'dist', 'funnelcake')) {
  const wire = { bytes: 0, events: 0, batches: 0 };
  const pages = {
    '/ready.html': `<!doctype html><html><head><title>ready</title><script>${SNIPPET}</script>
<script>window.__t0 = performance.now();
funnelcake.on('metrics', function () { if (!window.__ready) window.__ready = performance.now(); });</script>
<script async src="/funnelcake/funnelcake.js?mark" data-site="bench" data-endpoint="/v1/batch"></script></head><body>ready</body></html>`,
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
        // `?mark` (the ready page): one statement first, so the page knows when the script started.
        const mark = req.url.endsWith('?mark') ? 'self.__fcStart=performance.now();' : '';
        // Brotli to a browser that accepts it, as the collector sends the build's `.br` copies.
        const br = /\bbr\b/.test(req.headers['accept-encoding'] || '');
        res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store', vary: 'accept-encoding',
          ...(br ? { 'content-encoding': 'br' } : {}), ...isolation });
        res.end(sdkBody(join(dist, file), mark, br));
        return;
      }
    }
    if (req.method === 'POST' && path === '/v1/batch') {
      wire.bytes += body.length;
      wire.batches += 1;
      // Bytes as sent (gzip when `?enc=gzip`), events counted in the unpacked JSON.
      try { wire.events += JSON.parse(batchBody(req.url, body).text).events.length; } catch { /* counted as bytes only */ }
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
