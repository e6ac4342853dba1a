// funnelcake env (shipped inside funnelcake.js): the page objects the wasm reads and writes
// (src/env.rs, src/storage.rs), each behind a function that never throws and answers a value
// instead (null, -1, false: not done), so the wasm's imports need no `catch` (a check at every
// call site) and no browser types of their own:
// - a page string copied into the wasm as UTF-8, in two calls: `size` answers its length in
//   UTF-8 bytes, the wasm allocates exactly that and `copy` writes the bytes into it (in place of
//   wasm-bindgen's own string conversion, whose glue and wasm code cost more);
// - localStorage (`get`, `set`, `remove`), looked up once; blocked or missing storage reads as
//   empty and refuses writes, which the wasm then keeps in memory;
// - random bytes from `crypto.getRandomValues` (`random`).
var fcEnv = (function () {
  'use strict';
  var w, storage, encoder, text;

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

  return {
    /** The page's window, set by the loader before the SDK's `init`. */
    use: function (win) {
      w = win;
      storage = undefined;
    },

    /** The UTF-8 length of `v` if it is a string (kept for `copy`), else -1. A lone surrogate
     * counts as U+FFFD, which `copy` writes for it. */
    size: function (v) {
      if (typeof v != 'string') return -1;
      text = v;
      for (var n = 0, i = 0, c; i < v.length; i++) {
        c = v.charCodeAt(i);
        n += c < 128 ? 1 : c < 2048 ? 2 : (c & 64512) == 55296 && (v.charCodeAt(i + 1) & 64512) == 56320 ? (i++, 4) : 3;
      }
      return n;
    },

    /** Writes the string `size` kept into `dst`, a view of the wasm's memory of its length, as
     * UTF-8; false if that failed. ASCII a unit at a time (the common case: JSON, names, URLs;
     * cheaper than the encoder for short strings), the rest with `encodeInto`. */
    copy: function (dst) {
      try {
        for (var n = text.length, i = 0, c; i < n && (c = text.charCodeAt(i)) < 128; i++) dst[i] = c;
        if (i < n) (encoder = encoder || new TextEncoder()).encodeInto(text.slice(i), dst.subarray(i));
        return true;
      } catch (e) {
        return false;
      } finally {
        text = null;
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

    /** Fills `dst` (a view of the wasm's memory) with `crypto.getRandomValues`; false without it. */
    random: function (dst) {
      try {
        w.crypto.getRandomValues(dst);
        return true;
      } catch (e) {
        return false;
      }
    }
  };
})();
if (typeof module === 'object' && module.exports) module.exports = fcEnv;
