// node --test: js/net.js, the fetch and sendBeacon calls made for the wasm (src/transport.rs),
// with a fake window and SDK.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const net = require('../net.js');

const nextTask = () => new Promise((r) => setTimeout(r, 0));

function setup(fetch, navigator = {}) {
  const sent = [];
  net.use({ sent: (...a) => sent.push(a) }, { fetch, navigator });
  return sent;
}

test('post: a string body, keepalive as asked, the status and Retry-After reported once', async () => {
  const requests = [];
  const sent = setup((url, init) => {
    requests.push([url, init]);
    return Promise.resolve({ status: 503, headers: { get: (h) => (h === 'retry-after' ? '7' : null) } });
  });
  net.post('/v1/batch', '{"events":[]}', 4, true);
  net.post('/v1/batch', 'big', 5, false);
  assert.deepEqual(requests, [
    ['/v1/batch', { method: 'POST', body: '{"events":[]}', keepalive: true }],
    ['/v1/batch', { method: 'POST', body: 'big', keepalive: false }],
  ]);
  assert.deepEqual(sent, [], 'reported when the response arrives, not before');
  await nextTask();
  assert.deepEqual(sent, [[4, 503, '7'], [5, 503, '7']]);
});

test('post: no response (a rejection, or fetch throwing) is status 0, reported from a later task', async () => {
  let sent = setup(() => Promise.reject(new TypeError('Failed to fetch')));
  net.post('/v1/batch', '{}', 1, true);
  await nextTask();
  assert.deepEqual(sent, [[1, 0, null]]);

  sent = setup(() => { throw new Error('fetch replaced by the page'); });
  assert.equal(net.post('/v1/batch', '{}', 2, true), true, 'started: its failure is reported');
  assert.deepEqual(sent, [], 'not while the wasm is still sending');
  await nextTask();
  assert.deepEqual(sent, [[2, 0, null]]);
});

test('post and wake never throw: on a page whose setTimeout throws too, the failed send is still reported and wake answers false', async () => {
  const sent = setup(() => { throw new Error('fetch replaced by the page'); });
  const real = globalThis.setTimeout;
  globalThis.setTimeout = () => { throw new Error('timers replaced by the page'); };
  let post, wake;
  try {
    post = net.post('/v1/batch', '{}', 9, true);
    wake = net.wake(10);
  } finally {
    globalThis.setTimeout = real;
  }
  assert.equal(post, true, 'the failure is reported through a promise, which needs no timer');
  assert.equal(wake, false);
  await nextTask();
  assert.deepEqual(sent, [[9, 0, null]]);
  assert.equal(net.wake(0), true, 'with timers back'); // and no timer left keeping node alive
  await nextTask();
});

test('post: an SDK that traps while hearing the outcome does not reject into the page', async () => {
  const rejections = [];
  const onRejection = (e) => rejections.push(e);
  process.on('unhandledRejection', onRejection);
  net.use({ sent() { throw new Error('wasm trap'); } }, { fetch: () => Promise.resolve({ status: 200, headers: { get: () => null } }) });
  net.post('/v1/batch', '{}', 3, true);
  await nextTask();
  await nextTask();
  process.off('unhandledRejection', onRejection);
  assert.deepEqual(rejections, []);
});

test('beacon: the browser\'s answer, false when sendBeacon is missing or throws', () => {
  const beacons = [];
  setup(null, { sendBeacon: (url, body) => { beacons.push([url, body]); return true; } });
  assert.equal(net.beacon('/v1/batch', 'x'), true);
  assert.deepEqual(beacons, [['/v1/batch', 'x']]);
  setup(null, { sendBeacon: () => false });
  assert.equal(net.beacon('/v1/batch', 'x'), false, 'over the keepalive budget');
  setup(null, {});
  assert.equal(net.beacon('/v1/batch', 'x'), false);
  setup(null, { sendBeacon() { throw new TypeError('Illegal invocation'); } });
  assert.equal(net.beacon('/v1/batch', 'x'), false);
});

// A fake window with the browser's CompressionStream (node has the same one).
function setupGzip(fetch, extra = {}) {
  const sent = [];
  net.use({ sent: (...a) => sent.push(a) }, { fetch, navigator: {}, CompressionStream, document: { hidden: false }, ...extra });
  return sent;
}

const until = async (fn) => { for (let i = 0; i < 100 && !fn(); i++) await nextTask(); };
const gunzip = async (bytes) => new Response(new Response(bytes).body.pipeThrough(new DecompressionStream('gzip'))).text();

test('post: with CompressionStream the body goes gzip (bytes without a type: no preflight), marked ?enc=gzip', async () => {
  const requests = [];
  const sent = setupGzip((url, init) => {
    requests.push([url, init]);
    return Promise.resolve({ status: 200, headers: { get: () => null } });
  });
  const body = JSON.stringify({ v: 1, events: Array.from({ length: 50 }, (_, i) => ({ id: i, t: 'add_to_cart' })) });
  net.post('/v1/batch', body, 7, true);
  net.post('https://c.example/v1/batch?site=x', '{}', 8, false);
  assert.deepEqual(requests, [], 'compressing takes a turn of the event loop');
  await until(() => sent.length === 2);
  // Each is sent when its own compression ends: the small body may overtake the large one (the
  // SDK has one batch in flight at a time, so their order never matters).
  const byUrl = (a, b) => (a[0] < b[0] ? -1 : 1);
  requests.sort(byUrl);
  assert.deepEqual(requests.map(([url, init]) => [url, init.method, init.keepalive, init.body instanceof ArrayBuffer]), [
    ['/v1/batch?enc=gzip', 'POST', true, true],
    ['https://c.example/v1/batch?site=x&enc=gzip', 'POST', false, true],
  ]);
  assert.equal(await gunzip(requests[0][1].body), body);
  assert.ok(requests[0][1].body.byteLength < body.length / 3, 'smaller');
  assert.deepEqual(sent.sort((a, b) => a[0] - b[0]), [[7, 200, null], [8, 200, null]]);
});

test('post: a hidden page, or hide() while compressing, sends the plain string once', async () => {
  const requests = [];
  const fetch = (url, init) => {
    requests.push([url, init.body]);
    return Promise.resolve({ status: 200, headers: { get: () => null } });
  };
  let sent = setupGzip(fetch, { document: { hidden: true } });
  net.post('/v1/batch', '{"a":1}', 1, true);
  assert.deepEqual(requests, [['/v1/batch', '{"a":1}']], 'at once, plain');
  await until(() => sent.length === 1);

  requests.length = 0;
  sent = setupGzip(fetch, { document: { hidden: false } });
  net.post('/v1/batch', '{"b":2}', 2, true);
  net.hide();
  assert.deepEqual(requests, [['/v1/batch', '{"b":2}']], 'sent plain within the hide handler');
  await until(() => sent.length === 1);
  for (let i = 0; i < 10; i++) await nextTask();
  assert.equal(requests.length, 1, 'the compressed copy is not sent as well');
  assert.deepEqual(sent, [[2, 200, null]]);
  net.hide();
  assert.equal(requests.length, 1, 'nothing left to send on a second hide');
});

test('post: compression that fails sends the plain string', async () => {
  const requests = [];
  class Broken { constructor() { throw new TypeError('unsupported'); } }
  const sent = setupGzip((url, init) => {
    requests.push([url, init.body]);
    return Promise.resolve({ status: 200, headers: { get: () => null } });
  }, { CompressionStream: Broken });
  net.post('/v1/batch', '{"c":3}', 3, true);
  assert.deepEqual(requests, [['/v1/batch', '{"c":3}']]);
  await until(() => sent.length === 1);
  assert.deepEqual(sent, [[3, 200, null]]);
});

test('wake: one timer at a time, a new request replacing the pending one; a throwing wake stays inside', async () => {
  const woken = [];
  net.use({ wake: () => woken.push(Date.now()) }, {});
  net.wake(60000);
  net.wake(0); // earlier: replaces the 60 s one
  await nextTask();
  await nextTask();
  assert.equal(woken.length, 1, 'woken once, by the replacing request');
  net.wake(5);
  net.wake(0);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(woken.length, 2, 'the replaced 5 ms wake-up never fires');
  net.use({ wake: () => { throw new Error('trap'); } }, {});
  net.wake(0);
  await new Promise((r) => setTimeout(r, 10)); // an uncaught throw here would fail the test run
  net.wake(60000);
  net.use({ wake: () => woken.push(0) }, {});
  net.wake(0); // leaves no 60 s timer keeping node alive
  await nextTask();
  assert.equal(woken.length, 3);
});

test('flush: waits while a batch is in flight, goes on when it is delivered, resolves with what is left when it fails', async () => {
  // The wasm's answers: flush() -1 while a batch is in flight, else what is pending; sent() -1
  // when delivered, else what is pending.
  const answers = { flush: [-1, -1, -1], sent: [-1, 4] };
  const sdk = { flush: () => answers.flush.shift(), sent: () => answers.sent.shift() };
  const status = [200, 503];
  net.use(sdk, { fetch: () => Promise.resolve({ status: status.shift(), headers: { get: () => null } }), navigator: {} });
  const results = [];
  const first = new Promise(net.flush).then((n) => results.push(['first', n]));
  net.post('/v1/batch', 'a', 1, true); // the batch the first flush waits for: delivered
  await nextTask();
  await nextTask();
  assert.deepEqual(results, [], 'delivered: the first flush sent the next batch and waits for it');
  const second = new Promise(net.flush).then((n) => results.push(['second', n]));
  assert.deepEqual(answers.flush, [], 'both steps asked the wasm');
  net.post('/v1/batch', 'b', 2, true); // fails (503): both resolve with what is pending
  await Promise.all([first, second]);
  assert.deepEqual(results, [['first', 4], ['second', 4]]);
  // Nothing in flight: resolved at once with what is pending; a trap resolves with 0.
  net.use({ flush: () => 2 }, {});
  assert.equal(await new Promise(net.flush), 2);
  net.use({ flush: () => { throw new Error('trap'); } }, {});
  assert.equal(await new Promise(net.flush), 0);
});
