// funnelcake text (shipped inside funnelcake.js): a page string copied into the wasm as UTF-8
// (src/env.rs, `text`), in two calls: `size` answers its length in UTF-8 bytes, the wasm
// allocates exactly that and `copy` writes the bytes into it. In place of wasm-bindgen's own
// string conversion, whose glue and wasm code cost more. Nothing here throws into the page.
var fcText = (function () {
  'use strict';
  var encoder, text;
  return {
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
    }
  };
})();
if (typeof module === 'object' && module.exports) module.exports = fcText;
