// node --test: js/env.js, the page objects the wasm reads and writes: strings copied in
// (src/env.rs, `text`), localStorage (src/storage.rs) and random bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const env = require('../env.js');

/** What the wasm does: asks the size, gives a buffer of that length, decodes it. */
function copyIn(v) {
  const n = env.size(v);
  if (n < 0) return undefined;
  const memory = new Uint8Array(n + 8); // the view is part of a larger memory
  const dst = memory.subarray(4, 4 + n);
  assert.equal(env.copy(dst), true);
  assert.deepEqual([...memory.subarray(0, 4), ...memory.subarray(4 + n)], new Array(8).fill(0), 'nothing outside');
  return new TextDecoder('utf-8', { fatal: true }).decode(dst);
}

test('a string arrives as its UTF-8 bytes, whatever it holds', () => {
  const mixed = ['', 'add_to_cart', '{"q":"café €","n":"😀"}', 'x'.repeat(70000), 'Größe 38 – ' + '€😀'.repeat(500)];
  for (const s of mixed) {
    assert.equal(env.size(s), Buffer.byteLength(s));
    assert.equal(copyIn(s), s);
  }
  // A lone surrogate (which UTF-8 cannot hold) arrives as U+FFFD, as wasm-bindgen's conversion
  // did, and is counted as one: the length is exact wherever it stands.
  for (const [s, want] of [['a\ud800b', 'a\ufffdb'], ['\udc00', '\ufffd'], ['x\ud83d', 'x\ufffd'], ['\ud83d\ud83d\ude00', '\ufffd😀']]) {
    assert.equal(env.size(s), Buffer.byteLength(want), JSON.stringify(s));
    assert.equal(copyIn(s), want);
  }
});

test('anything but a string is -1 and leaves nothing to copy', () => {
  for (const v of [undefined, null, 42, true, {}, ['a'], new String('boxed')]) {
    assert.equal(env.size(v), -1, String(v));
  }
});

test('copy never throws: a failed copy is false', () => {
  env.size('abc');
  assert.equal(env.copy(null), false, 'no view');
  assert.equal(env.copy(new Uint8Array(3)), false, 'nothing kept after a copy');
  env.size('é');
  assert.equal(env.copy({}), false, 'not a view');
});

test('storage: read, written and removed through the window it was given, looked up once', () => {
  const map = new Map();
  let lookups = 0;
  const localStorage = { getItem: (k) => (map.has(k) ? map.get(k) : null), setItem: (k, v) => map.set(k, String(v)), removeItem: (k) => map.delete(k) };
  env.use({ get localStorage() { lookups++; return localStorage; } });
  assert.equal(env.get('fc:v1:s:state'), null);
  assert.equal(env.set('fc:v1:s:state', '{"v":1}'), true);
  assert.equal(env.get('fc:v1:s:state'), '{"v":1}');
  env.remove('fc:v1:s:state');
  assert.equal(env.get('fc:v1:s:state'), null);
  assert.equal(lookups, 1);
});

test('storage never throws: missing, blocked or full storage reads as empty and refuses writes', () => {
  const full = { getItem: () => null, setItem: () => { throw new Error('QuotaExceededError'); }, removeItem: () => { throw new Error('x'); } };
  for (const w of [undefined, {}, { get localStorage() { throw new Error('SecurityError'); } }, { localStorage: full }]) {
    env.use(w);
    assert.equal(env.get('k'), null);
    assert.equal(env.set('k', 'v'), false);
    assert.equal(env.remove('k'), undefined);
  }
});

test('random: crypto.getRandomValues into the view; without crypto, Math.random mixed with the clock and a count, never a throw', () => {
  const dst = new Uint8Array(256);
  env.use({ crypto: { getRandomValues: (a) => a.fill(7) } });
  env.random(dst);
  assert.ok(dst.every((b) => b === 7));
  const realRandom = Math.random;
  try {
    for (const w of [undefined, {}, { get crypto() { throw new Error('blocked'); } }, { crypto: { getRandomValues() { throw new Error('quota'); } } }]) {
      env.use(w);
      // Even with a Math.random that repeats itself, no two 16-byte ids (as the wasm takes them)
      // of many fills are the same, and neither is a fill of zeros.
      Math.random = () => 0.5;
      const ids = new Set();
      for (let fill = 0; fill < 64; fill++) {
        dst.fill(0);
        assert.equal(env.random(dst), undefined);
        for (let at = 0; at < 256; at += 16) ids.add(Buffer.from(dst.subarray(at, at + 16)).toString('hex'));
      }
      assert.equal(ids.size, 64 * 16, 'distinct ids');
      Math.random = realRandom;
      env.random(dst);
      assert.ok(dst.some((b) => b !== 0));
    }
  } finally {
    Math.random = realRandom;
  }
});

test('tape: each shared case of fixtures/tape.json, from JSON text (json) and from the value (tape)', async () => {
  const { readFileSync } = await import('node:fs');
  const cases = JSON.parse(readFileSync(new URL('../../fixtures/tape.json', import.meta.url), 'utf8'));
  assert.ok(cases.length >= 20);
  for (const [json, tape] of cases) {
    assert.equal(env.json(json), tape, json);
    assert.equal(env.tape(JSON.parse(json), 0), tape, json);
  }
});

test('json: stored text in tape form without the bounds of page objects; null for anything not JSON', () => {
  const long = JSON.stringify(Array.from({ length: 500 }, (_, i) => i));
  assert.equal(env.json(long), 'a' + Array.from({ length: 500 }, (_, i) => 'd' + i + ',').join('') + 'e', 'no 100-element cut');
  const deep = '['.repeat(20) + ']'.repeat(20);
  assert.equal(env.json(deep), 'a'.repeat(20) + 'e'.repeat(20), 'no depth-8 cut (the wasm refuses past 32)');
  for (const bad of ['', 'not json', '{"a":', undefined, null]) assert.equal(env.json(bad), bad === null ? 'n' : null, String(bad));
  // A string reaches the wasm as UTF-8, where a lone surrogate becomes U+FFFD: one unit, as counted.
  assert.equal(env.tape('\ud800x', 0), 's2:\ud800x');
  assert.equal(copyIn(env.tape('\ud800x', 0)), 's2:\ufffdx');
});
