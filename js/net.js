// funnelcake net (shipped inside funnelcake.js): the browser calls that send batches, for the
// wasm (src/transport.rs), which asks (`post`, `beacon`) and hears back through its `sent`
// export. A promise handler made here costs a few bytes; made in the wasm, a closure and its
// glue. What to send, when, and what a status means are the wasm's. Nothing here throws into
// the page.
var fcNet = (function () {
  'use strict';
  var sdk, w;

  return {
    /** The SDK's exports and the page's window, set by the loader once the wasm is ready. */
    use: function (s, win) { sdk = s; w = win; },

    /**
     * POSTs `body` as a string (so `text/plain;charset=UTF-8`: a CORS "simple request", no
     * preflight), with `keepalive` when asked (the request then outlives the page, within the
     * page's 64 KiB budget), and calls `sent(batch, status, Retry-After)` once: status 0 when
     * no response came (refused, offline, aborted, or `fetch` itself threw).
     * https://developer.mozilla.org/en-US/docs/Web/API/RequestInit#keepalive
     */
    post: function (url, body, batch, keepalive) {
      var done = function (status, retryAfter) {
        done = function () {};
        try { sdk.sent(batch, status, retryAfter); } catch (e) { /* a trap stays out of the promise */ }
      };
      try {
        w.fetch(url, { method: 'POST', body: body, keepalive: keepalive }).then(
          function (r) { done(r.status, r.headers.get('retry-after')); },
          function () { done(0, null); });
      } catch (e) {
        setTimeout(function () { done(0, null); }, 0); // from a later task, like a rejection
      }
    },

    /**
     * `navigator.sendBeacon(url, body)`: true if the browser took it (it refuses when the
     * page's keepalive budget is used up). Survives the page going away.
     * https://developer.mozilla.org/en-US/docs/Web/API/Navigator/sendBeacon
     */
    beacon: function (url, body) {
      try {
        return w.navigator.sendBeacon(url, body) === true;
      } catch (e) {
        return false;
      }
    }
  };
})();
if (typeof module === 'object' && module.exports) module.exports = fcNet;
