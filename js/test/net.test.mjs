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
  net.post('/v1/batch', '{}', 2, true);
  assert.deepEqual(sent, [], 'not while the wasm is still sending');
  await nextTask();
  assert.deepEqual(sent, [[2, 0, null]]);
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
