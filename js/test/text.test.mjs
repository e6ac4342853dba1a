// node --test: js/text.js, how the wasm copies a page string in (src/env.rs, `text`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const text = require('../text.js');

/** What the wasm does: asks the size, gives a buffer of that length, decodes it. */
function copyIn(v) {
  const n = text.size(v);
  if (n < 0) return undefined;
  const memory = new Uint8Array(n + 8); // the view is part of a larger memory
  const dst = memory.subarray(4, 4 + n);
  assert.equal(text.copy(dst), true);
  assert.deepEqual([...memory.subarray(0, 4), ...memory.subarray(4 + n)], new Array(8).fill(0), 'nothing outside');
  return new TextDecoder('utf-8', { fatal: true }).decode(dst);
}

test('a string arrives as its UTF-8 bytes, whatever it holds', () => {
  const mixed = ['', 'add_to_cart', '{"q":"café €","n":"😀"}', 'x'.repeat(70000), 'Größe 38 – ' + '€😀'.repeat(500)];
  for (const s of mixed) {
    assert.equal(text.size(s), Buffer.byteLength(s));
    assert.equal(copyIn(s), s);
  }
  // A lone surrogate (which UTF-8 cannot hold) arrives as U+FFFD, as wasm-bindgen's conversion
  // did, and is counted as one: the length is exact wherever it stands.
  for (const [s, want] of [['a\ud800b', 'a\ufffdb'], ['\udc00', '\ufffd'], ['x\ud83d', 'x\ufffd'], ['\ud83d\ud83d\ude00', '\ufffd😀']]) {
    assert.equal(text.size(s), Buffer.byteLength(want), JSON.stringify(s));
    assert.equal(copyIn(s), want);
  }
});

test('anything but a string is -1 and leaves nothing to copy', () => {
  for (const v of [undefined, null, 42, true, {}, ['a'], new String('boxed')]) {
    assert.equal(text.size(v), -1, String(v));
  }
});

test('copy never throws: a failed copy is false', () => {
  text.size('abc');
  assert.equal(text.copy(null), false, 'no view');
  assert.equal(text.copy(new Uint8Array(3)), false, 'nothing kept after a copy');
  text.size('é');
  assert.equal(text.copy({}), false, 'not a view');
});
