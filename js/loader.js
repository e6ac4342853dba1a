/*! funnelcake loader | MIT OR Apache-2.0 */
// Loads the wasm SDK without blocking the page, replays calls queued before it was ready (with
// the timestamp and page context captured when they were made), then installs the real API on
// window.funnelcake. Works as a classic `<script async>` (one-tag embed, configured by data-*
// attributes) and after the inline snippet. If WebAssembly is missing or the wasm cannot load,
// the stub stays in place: calls are accepted and ignored, nothing throws into the page.
(function (root, factory) {
  var api = factory();
  if (typeof module === 'object' && module.exports) {
    module.exports = api; // node tests
  } else if (root && root.document) {
    api.boot(root, root.document);
  }
})(typeof window !== 'undefined' ? window : this, function () {
  'use strict';

  // Methods that record something, with the number of arguments before the captured context.
  // Calls to these (and init/reset/flush/on) are queued until the SDK is ready.
  var ARITY = {
    page: 1, track: 2, viewItem: 1, addToCart: 1, removeFromCart: 1, viewCart: 1, beginCheckout: 1,
    checkoutStep: 2, purchase: 1, refund: 1, search: 1, identify: 2
  };
  var METHODS = ['init', 'reset', 'flush', 'on', 'metrics'].concat(Object.keys(ARITY));
  // Most calls the stub keeps if the SDK never loads (protects the page's memory).
  var MAX_QUEUE = 1000;
  // Config keys readable from data-* attributes (`flushAt` ← `data-flush-at`) and their types:
  // s string, n number, b boolean.
  var ATTRS = {
    site: 's', endpoint: 's', flushAt: 'n', flushIntervalMs: 'n', maxBatchBytes: 'n', maxQueueEvents: 'n',
    maxQueueBytes: 'n', maxAttempts: 'n', sessionTimeoutMin: 'n', autoPageviews: 'b', dataLayer: 'b',
    privacy: 's', consent: 's', currency: 's', debug: 'b'
  };

  /** Page context at call time: what the SDK would have read had it been ready. */
  function context(w, d) {
    var l = w.location || {};
    return { ts: Date.now(), url: (l.pathname || '') + (l.search || ''), ref: d.referrer || '', title: d.title || '' };
  }

  /** Config from the script tag's data-* attributes; only attributes present are set. */
  function configFromScript(el) {
    var cfg = {};
    if (!el || !el.getAttribute) return cfg;
    for (var key in ATTRS) {
      var v = el.getAttribute('data-' + key.replace(/[A-Z]/g, function (c) { return '-' + c.toLowerCase(); }));
      if (v === null || v === undefined) continue;
      var kind = ATTRS[key];
      cfg[key] = kind === 'n' ? Number(v) : kind === 'b' ? v !== 'false' && v !== '0' : v;
    }
    return cfg;
  }

  /** The queueing stub (the same shape the inline snippet creates). Idempotent. */
  function installStub(w, d) {
    var fc = w.funnelcake;
    if (fc && fc._q) return fc;
    fc = { _q: [], _stub: true };
    METHODS.forEach(function (m) {
      fc[m] = function () {
        var args = Array.prototype.slice.call(arguments);
        if (m === 'metrics') return null; // no snapshot before the SDK is ready
        if (m === 'on') {
          var entry = [m, null, args, null];
          if (fc._q.length < MAX_QUEUE) fc._q.push(entry);
          // Unsubscribing before the SDK is ready cancels the queued subscription; after, the
          // real unsubscribe function is stored on the entry by replay().
          return function () { entry[2] = null; if (entry[3]) entry[3](); };
        }
        if (m === 'flush') {
          return new Promise(function (resolve) {
            if (fc._q.length < MAX_QUEUE) fc._q.push([m, context(w, d), args, resolve]);
            else resolve(0);
          });
        }
        if (fc._q.length < MAX_QUEUE) fc._q.push([m, context(w, d), args]);
      };
    });
    w.funnelcake = fc;
    return fc;
  }

  /** Wraps a wasm export so nothing it does can throw into the page. */
  function safe(fn, fallback) {
    return function () {
      try {
        return fn.apply(null, arguments);
      } catch (e) {
        return fallback;
      }
    };
  }

  /** Calls a recording export with its arguments padded to its arity, then the context. */
  function callWithContext(sdk, m, args, ctx) {
    var a = Array.prototype.slice.call(args, 0, ARITY[m]);
    while (a.length < ARITY[m]) a.push(undefined);
    a.push(ctx);
    return sdk[m].apply(null, a);
  }

  /** The real API over the wasm module's exports. */
  function realApi(sdk) {
    var api = {
      init: safe(function (cfg) { return sdk.init(cfg); }, false),
      reset: safe(function () { sdk.reset(); }),
      metrics: safe(function () { return sdk.metrics(); }, null),
      on: safe(function (event, cb) { return sdk.on(event, cb); }, function () {}),
      flush: function () {
        try { return sdk.flush(); } catch (e) { return Promise.resolve(0); }
      },
      debugState: safe(function () { return sdk.debugState(); }, null),
      ready: true
    };
    Object.keys(ARITY).forEach(function (m) {
      api[m] = safe(function () { callWithContext(sdk, m, arguments, undefined); });
    });
    return api;
  }

  /** Replays queued calls in order; `init` from the queue wins over data attributes. */
  function replay(sdk, queue, scriptConfig) {
    var hasInit = queue.some(function (c) { return c[0] === 'init'; });
    if (!hasInit && scriptConfig.site) sdk.init(scriptConfig);
    queue.forEach(function (call) {
      try {
        var m = call[0], ctx = call[1] || undefined, a = call[2] || [];
        if (m === 'init') sdk.init(a[0]);
        else if (m === 'reset') sdk.reset();
        else if (m === 'flush') sdk.flush().then(call[3], function () { call[3](0); });
        else if (m === 'on' && call[2]) {
          call[3] = sdk.on(a[0], a[1]);
          // Subscribed before the SDK was ready: deliver the current snapshot once.
          a[1](sdk.metrics());
        }
        else if (ARITY[m] !== undefined) callWithContext(sdk, m, a, ctx);
      } catch (e) { /* a bad call is dropped, the rest still run */ }
    });
  }

  /** Finds our script tag (currentScript is null only in callbacks and modules). */
  function findScript(d) {
    return d.currentScript || (d.querySelector && d.querySelector('script[data-site][src*="funnelcake"]'));
  }

  function boot(w, d) {
    var stub = installStub(w, d);
    var script = findScript(d);
    if (typeof WebAssembly !== 'object' || !script || !script.src) return;
    var base = script.src.replace(/[^/]*([?#].*)?$/, '');
    var scriptConfig = configFromScript(script);
    import(base + 'funnelcake.glue.js')
      .then(function (sdk) {
        return sdk.default({ module_or_path: base + 'funnelcake.wasm' }).then(function () { return sdk; });
      })
      .then(function (sdk) {
        var queue = stub._q.splice(0);
        w.funnelcake = realApi(sdk);
        replay(sdk, queue, scriptConfig);
      })
      .catch(function (e) {
        if (scriptConfig.debug && w.console) w.console.warn('funnelcake: SDK not loaded', e);
      });
  }

  return {
    boot: boot, installStub: installStub, configFromScript: configFromScript, replay: replay,
    realApi: realApi, context: context, METHODS: METHODS, ARITY: ARITY, MAX_QUEUE: MAX_QUEUE
  };
});
