// js/native.js: the browser's own setTimeout and addEventListener when zone.js has replaced the
// page's (it keeps them as `__zone_symbol__<name>`), the page's own otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const native = require('../native.js');

test("timeout: zone.js's kept setTimeout when there is one, called on the global; else the page's", async () => {
  const calls = [];
  globalThis.__zone_symbol__setTimeout = function (fn, ms) { calls.push([this === globalThis, ms]); return 7; };
  try {
    assert.equal(native.timeout(() => {}, 5), 7);
  } finally {
    delete globalThis.__zone_symbol__setTimeout;
  }
  assert.deepEqual(calls, [[true, 5]]);
  let ran = false;
  native.timeout(() => { ran = true; }, 0); // node's own
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(ran, true);
});

test("listen: zone.js's kept addEventListener when the target has one, in the capture phase; else the target's", () => {
  const heard = [];
  const fn = () => {};
  const zoned = {
    __zone_symbol__addEventListener(type, f, capture) { heard.push(['zone.js original', type, f === fn, capture, this === zoned]); },
    addEventListener() { heard.push(['patched']); },
  };
  const plain = { addEventListener(type, f, capture) { heard.push(['own', type, f === fn, capture, this === plain]); } };
  native.listen(zoned, 'pagehide', fn);
  native.listen(plain, 'storage', fn);
  assert.deepEqual(heard, [['zone.js original', 'pagehide', true, true, true], ['own', 'storage', true, true, true]]);
});
