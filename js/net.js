// funnelcake net (shipped inside funnelcake.js): the browser calls that send batches, the
// timer that says when, and the `flush()` calls waiting for a batch to land, for the wasm
// (src/transport.rs, src/scheduler.rs, src/api.rs), which asks (`post`, `beacon`, `wake`) and
// hears back through its `sent`, `wake` and `flush` exports. A promise handler, timer callback
// or waiting list kept here costs a few bytes; kept in the wasm, closures or JS functions and
// their glue. What to send, when, and what a status means are the wasm's. Nothing here throws
// into the page.
var fcNet = (function () {
  'use strict';
  /* global fcTimeout */
  var timeout = typeof module === 'object' && module.exports ? require('./native.js').timeout : fcTimeout; // js/native.js
  var sdk, w;
  // Sends of batches still being compressed: the page hiding sends them plain at once.
  var squeezing = [];
  // The pending wake-up of the SDK's flush timer.
  var timer;
  // `flush()` calls waiting for the batch in flight to land (kept here, so a re-init of the SDK
  // cannot lose them: that batch's `sent` still wakes them).
  var waiting = [];

  /**
   * One step of a `flush()`: the wasm sends the next batch and answers the number of events
   * still pending, or -1 while a batch is in flight (the step is taken again once it is
   * delivered; if it fails, `resolve` gets what is pending). 0 at once if the wasm traps.
   */
  function flush(resolve) {
    var left = 0;
    try { left = sdk.flush(); } catch (e) { /* resolved with 0 */ }
    if (left < 0) waiting.push(resolve);
    else resolve(left);
  }

  // A `fetch` that throws at once is a failed send too, reported like a rejection (the
  // promise's executor turns the throw into one).
  function send(url, body, keepalive, done) {
    new Promise(function (r) { r(w.fetch(url, { method: 'POST', body: body, keepalive: keepalive })); }).then(
      function (r) { done(r.status, r.headers.get('retry-after')); },
      function () { done(0, null); });
  }

  return {
    /** The SDK's exports and the page's window, set by the loader once the wasm is ready. */
    use: function (s, win) { sdk = s; w = win; },

    /**
     * POSTs `body` with `keepalive` when asked (the request then outlives the page, within the
     * page's 64 KiB budget), and calls `sent(batch, status, Retry-After)` once: status 0 when
     * no response came (refused, offline, aborted, or `fetch` itself threw). True; false only if
     * not even that could be arranged (a page without a working `Promise`; then nothing is
     * called back). While the page is
     * visible the body is gzip-compressed by the browser's `CompressionStream` and marked
     * `?enc=gzip` (a `Content-Encoding` header would need a CORS preflight); without one, on a
     * hidden page, or if compressing fails, it goes as the string (`text/plain`). Neither form
     * needs a CORS preflight.
     * https://developer.mozilla.org/en-US/docs/Web/API/RequestInit#keepalive
     */
    post: function (url, body, batch, keepalive) {
      var done = function (status, retryAfter) {
        done = function () {};
        var left = 0;
        try { left = sdk.sent(batch, status, retryAfter); } catch (e) { /* a trap stays out of the promise */ }
        // Delivered (-1): the waiting flushes send on; failed: they resolve with what is pending.
        waiting.splice(0).forEach(function (resolve) {
          if (left < 0) flush(resolve);
          else resolve(left);
        });
      };
      // Sends once, the gzip bytes `gz` or the string, whichever comes first.
      var go = function (gz) {
        var i = squeezing.indexOf(go);
        if (i < 0) return;
        squeezing.splice(i, 1);
        if (gz) send(url + (url.indexOf('?') < 0 ? '?' : '&') + 'enc=gzip', gz, keepalive, done);
        else send(url, body, keepalive, done);
      };
      squeezing.push(go);
      try {
        if (w.document.hidden) throw 0;
        // The text streamed from a Response, not a Blob: making a Blob costs the main thread
        // more than the whole send (an ad-hoc page, per 5.6 KB batch: 3.0 ms of tasks through
        // a Blob, 1.6–1.8 ms this way, 1.5–2.4 ms sent plain).
        new Response(new Response(body).body.pipeThrough(new w.CompressionStream('gzip'))).arrayBuffer()
          .then(go, function () { go(); });
      } catch (e) {
        try {
          go(); // no CompressionStream (or no document): plain
        } catch (e2) {
          return false; // not even a promise for the failure report (`send`)
        }
      }
      return true;
    },

    /** `flush()`'s promise body: calls `resolve` with the number of events still pending
     * once everything queued was sent, batch after batch (or a send failed). */
    flush: flush,

    /**
     * The SDK's flush timer: calls its `wake` export in `ms` ms, in place of the wake-up
     * pending (one at a time; the wasm asks again only for an earlier one, or once it fired).
     * False if the timer could not be set (a page whose `setTimeout` throws).
     */
    wake: function (ms) {
      try {
        clearTimeout(timer);
        timer = timeout(function () {
          try { sdk.wake(); } catch (e) { /* a trap stays out of the page's timers */ }
        }, ms);
        return true;
      } catch (e) {
        return false;
      }
    },

    /** The page hides: what is still being compressed is sent now, plain (a page going away
     * may not run the compression's continuation). */
    hide: function () {
      squeezing.slice().forEach(function (go) { go(); });
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
