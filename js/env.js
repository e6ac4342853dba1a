// funnelcake env (shipped inside funnelcake.js): the page objects the wasm reads and writes
// (src/env.rs, src/storage.rs), each behind a function that never throws and answers a value
// instead (null, -1, false: not done), so the wasm's imports need no `catch` (a check at every
// call site) and no browser types of their own:
// - a page string copied into the wasm as UTF-8, in two calls: `size` encodes it and answers
//   its length in bytes, the wasm allocates exactly that and `copy` writes the bytes into it (in
//   place of wasm-bindgen's own string conversion, whose glue and wasm code cost more);
// - localStorage (`get`, `set`, `remove`), looked up once; blocked or missing storage reads as
//   empty and refuses writes, which the wasm then keeps in memory;
// - random bytes from `crypto.getRandomValues` (`random`).
var fcEnv = (function () {
  'use strict';
  // (Every browser that runs the wasm has TextEncoder; the glue makes its TextDecoder the same way.)
  var w, storage, bytes, count = 0, encoder = new TextEncoder(), scratch = new Uint8Array(16384);

  /** The page's localStorage, looked up once (null: missing, or a getter that throws). */
  function local() {
    if (storage === undefined) {
      try {
        storage = w.localStorage || null;
      } catch (e) {
        storage = null;
      }
    }
    return storage;
  }

  /**
   * `v` in the tape form the wasm reads (core/src/json.rs, `read_tape`) in place of JSON text:
   * the same values, each string led by its length in UTF-16 units instead of quoted and
   * escaped, so the wasm carries no JSON parser (the page's `JSON.parse` and this walk do that
   * part: −590 bytes gzip in all, BENCHMARKS.md). `''` for a value JSON leaves out.
   *
   * With `depth` 0 (the loader's properties, options, config and context) it is also a bounded
   * plain copy, taken when the call is made: depth 8 and 100 members or elements at most (which
   * also ends cycles); functions, symbols and undefined left out (null in a list), as a member
   * whose getter throws is; bigints and non-finite numbers null. An object with a `toJSON`
   * method is written as what it returns, as `JSON.stringify` does (a `Date` becomes its ISO
   * text, a decimal type its digits, a Backbone model its attributes), but an array always as
   * a list: Prototype.js before 1.7 (old Magento 1 stores) gives every array a `toJSON` that
   * returns its JSON text. A negative depth lifts both bounds (parsed JSON text, plain already;
   * the wasm refuses nesting past 32).
   */
  function tape(v, depth) {
    var t = typeof v;
    if (t == 'string') return 's' + v.length + ':' + v;
    if (t == 'number') return isFinite(v) ? 'd' + v + ',' : 'n';
    if (t == 'boolean') return v ? 't' : 'f';
    if (t == 'bigint' || v === null || t == 'object' && depth > 7) return 'n';
    if (t != 'object') return '';
    var list = Array.isArray(v), keys = list ? v : Object.keys(v), out = list ? 'a' : 'o';
    if (!list && typeof v.toJSON == 'function') return tape(v.toJSON(), depth + 1);
    for (var i = 0; i < keys.length && (i < 100 || depth < 0); i++) {
      var k = list ? i : keys[i], x = '';
      try { x = tape(v[k], depth + 1); } catch (e) { /* a throwing getter: left out */ }
      out += list ? x || 'n' : x && k.length + ':' + k + x;
    }
    return out + 'e';
  }

  return {
    tape: tape,

    /** JSON text (a stored value, another tab's queue) in tape form; null if it is not JSON. */
    json: function (text) {
      try {
        return tape(JSON.parse(text), -1e9);
      } catch (e) {
        return null;
      }
    },

    /** The page's window, set by the loader before the SDK's `init`. */
    use: function (win) {
      w = win;
      storage = undefined;
    },

    /** The UTF-8 length of `v` if it is a string (its bytes kept for `copy`; a lone surrogate
     * becomes U+FFFD), else -1. Encoded into a scratch buffer kept for the purpose (a string
     * of up to 5,461 units fits its 16 KiB), so a call's few strings allocate no buffers of
     * their own; a longer one is encoded on its own. */
    size: function (v) {
      try {
        if (typeof v != 'string') return -1;
        bytes = v.length > 5461 ? encoder.encode(v) : scratch.subarray(0, encoder.encodeInto(v, scratch).written);
        return bytes.length;
      } catch (e) {
        return -1;
      }
    },

    /** Writes the bytes `size` kept into `dst`, a view of the wasm's memory of their length;
     * false if that failed. */
    copy: function (dst) {
      try {
        dst.set(bytes);
        return true;
      } catch (e) {
        return false;
      } finally {
        bytes = null;
      }
    },

    /** `localStorage.getItem(key)`: the value, or null (none, or no usable storage). */
    get: function (key) {
      try {
        return local().getItem(key);
      } catch (e) {
        return null;
      }
    },

    /** `localStorage.setItem(key, value)`; false if it was refused (no storage, or full). */
    set: function (key, value) {
      try {
        local().setItem(key, value);
        return true;
      } catch (e) {
        return false;
      }
    },

    /** `localStorage.removeItem(key)`. */
    remove: function (key) {
      try {
        local().removeItem(key);
      } catch (e) { /* nothing stored to remove */ }
    },

    /**
     * Fills `dst` (a view of the wasm's memory) with `crypto.getRandomValues`; without it (a
     * hostile page) with `Math.random` bytes, each mixed with one byte of the clock plus a
     * running count (`+` before `>>` before `^`), so ids differ between pages and between calls
     * even if `Math.random` repeats itself (a seeded or stubbed one).
     */
    random: function (dst) {
      try {
        w.crypto.getRandomValues(dst);
      } catch (e) {
        for (var i = 0; i < dst.length; i++) dst[i] = Math.random() * 256 ^ Date.now() + count++ >> i % 4 * 8;
      }
    }
  };
})();
if (typeof module === 'object' && module.exports) module.exports = fcEnv;
