/*! funnelcake loader | MIT OR Apache-2.0 */
// Loads the wasm SDK without blocking the page, replays calls queued before it was ready (with
// the timestamp and page context captured when they were made), then installs the real API on
// window.funnelcake. Works as a classic `<script async>` (one-tag embed, configured by data-*
// attributes) and after the inline snippet. If WebAssembly is missing or the wasm cannot load,
// the stub stays in place: calls are accepted and ignored, nothing throws into the page.
/* global fcEsm, fcWasm, fcFetchWasm, wasm_bindgen */
var fcLoader = (function (root, factory) {
  var api = factory();
  if (typeof module === 'object' && module.exports) {
    module.exports = api; // node tests
  } else if (root && root.document && typeof fcEsm !== 'function') {
    api.boot(root, root.document); // the script tag (the ES module entry attaches itself)
  }
  return api;
})(typeof window !== 'undefined' ? window : undefined, function () {
  'use strict';
  // js/snippet.js, js/capture.js, js/tabs.js, js/net.js and js/env.js: concatenated before
  // this file in the build, required in node tests. The build defines `module` as false
  // (terser `--define`), so the script never takes this path or the `module.exports` ones, even
  // on a page that has a global `module` of its own.
  /* global fcStub, fcCapture, fcTabs, fcNet, fcEnv, fcTimeout, fcListen */
  var node = typeof module === 'object' && module.exports;
  var stubOf = node ? require('./snippet.js') : fcStub;
  var capture = node ? require('./capture.js') : fcCapture;
  var tabs = node ? require('./tabs.js') : fcTabs;
  var net = node ? require('./net.js') : fcNet;
  var env = node ? require('./env.js') : fcEnv;
  var native = node ? require('./native.js') : null; // the browser's own timer and listeners
  var timeout = native ? native.timeout : fcTimeout, listen = native ? native.listen : fcListen;

  // Methods that record something; calls to these (and init/reset/flush/on) are queued with the
  // page context until the SDK is ready. All but track, identify, experiment and consent are
  // helpers: track() of a canonical event (the wasm exports only track: smaller glue). In the
  // stub's order (js/snippet.js), so gzip finds the one list twice (−9 bytes).
  var RECORDING = 'page track viewItem addToCart removeFromCart viewCart beginCheckout checkoutStep purchase refund search identify experiment consent'.split(' ');

  /** `name` with each capital letter lower-cased after `sep` (`addToCart` → `add_to_cart`). */
  function spaced(name, sep) {
    return name.replace(/[A-Z]/g, function (c) { return sep + c.toLowerCase(); });
  }

  /** The event a helper records: its name in snake case, but `page_view`, and for `checkoutStep`
   * Segment's name, which the wasm maps to the step's event. */
  function eventOf(m) {
    return m === 'page' ? 'page_view' : m === 'checkoutStep' ? 'Checkout Step Completed' : spaced(m, '_');
  }
  // Config keys readable from data-* attributes (`flushAt` ← `data-flush-at`) and their types:
  // s string, n number, b boolean. With `funnels`, every option `init` takes (RawConfig::from_value
  // in core/src/config.rs reads the same keys; js/test/loader.test.mjs checks they agree), so a
  // key not here is named in debug mode as no option.
  var ATTRS = {
    site: 's', endpoint: 's', flushAt: 'n', flushIntervalMs: 'n', maxBatchBytes: 'n', maxQueueEvents: 'n',
    maxQueueBytes: 'n', maxAttempts: 'n', sessionTimeoutMin: 'n', autoPageviews: 'b', dataLayer: 'b',
    privacy: 's', consent: 's', currency: 's', debug: 'b'
  };

  /** Config from the script tag's data-* attributes; only attributes present are set. */
  function configFromScript(el) {
    var cfg = {};
    if (!el || !el.getAttribute) return cfg;
    for (var key in ATTRS) {
      var v = el.getAttribute('data-' + spaced(key, '-'));
      if (v === null || v === undefined) continue;
      var kind = ATTRS[key];
      cfg[key] = kind === 'n' ? Number(v) : kind === 'b' ? v !== 'false' && v !== '0' : v;
    }
    return cfg;
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

  /**
   * An object argument (properties, options, config; and the page context, when the call
   * crosses) in the tape form the wasm reads (js/env.js, `tape`: a bounded plain copy), taken
   * when the call is made; anything but a plain object gives undefined (no properties). One
   * string crosses into the wasm, not a walk over the object from there.
   */
  var tape = env.tape;
  function copy(v) {
    try {
      return v && typeof v === 'object' && !Array.isArray(v) ? tape(v, 0) : undefined;
    } catch (e) {
      return undefined;
    }
  }

  /** `{variation, value, inExperiment}` from a variation index (-1: not in the experiment). */
  function experimentResult(opts, index) {
    var vals = opts && opts.variations, v = index < 0 ? 0 : index;
    return { variation: v, value: Array.isArray(vals) ? vals[v] : v, inExperiment: index >= 0 };
  }

  // Releases an SPA page view held by js/capture.js, so it is recorded before what follows it.
  var releasePageView = function () {};

  // The page's origin, host and referrer, fixed for the document's lifetime (read once:
  // location and document getters are slow; an SPA navigation changes none of them).
  var origin, host, referrer;

  /**
   * The call's page context `{ts, url, ref, title, host}`: the one the stub captured, or the
   * page now, plus the host. Read here rather than from the wasm: DOM reads across the wasm
   * boundary cost more than the whole JSON text. The path and query come from one
   * `document.URL` read: the same text as `location.href`, whose getter runs the Location
   * object's origin checks (bench/browser, the first call's parts: 3.2–3.4 µs against 5.8–5.9).
   */
  function here(ctx) {
    if (node) return ctx; // node tests: no page
    if (host === undefined) { host = location.host; origin = location.origin; referrer = document.referrer; }
    if (!ctx) {
      var href = document.URL, cut = href.indexOf('#');
      ctx = {
        ts: Date.now(),
        // (An opaque origin, "null", starts no address: the fallback then.)
        url: href.startsWith(origin + '/')
          ? href.slice(origin.length, cut < 0 ? href.length : cut) : location.pathname + location.search,
        ref: referrer, title: document.title
      };
    }
    ctx.host = host;
    return ctx;
  }

  // Recording calls on the loaded SDK only capture their arguments (a plain copy in tape form:
  // see `copy`) and the page context; the wasm records them in one task per burst. Whatever
  // reads or changes state (init, reset, consent, experiment, metrics, debugState, flush, page
  // hide) drains them first, so order, timestamps and results are as if each call had run at
  // once.
  var pending = [], ticking = false, draining = false;

  // `on('metrics', cb)` listeners, held here rather than in the wasm (where each would cost a
  // closure and its glue). After every call that records, drops or resets something, each
  // hears the new snapshot, in the order they subscribed, inside the zone.js zone it subscribed
  // in if there is one (an Angular app sees what its callback changed; js/native.js); one that
  // throws does not stop the others, and its error is not thrown as ours (inside a zone, the
  // zone's error handler hears it first: Angular's ErrorHandler).
  var listeners = [];

  /** `metrics()` or `debugState()` of the wasm, which answers JSON text (or null before init). */
  function state(sdk, m) {
    var t = sdk[m]();
    return typeof t === 'string' ? JSON.parse(t) : null;
  }

  function notify(sdk) {
    if (!listeners.length) return;
    var snapshot;
    try { snapshot = state(sdk, 'metrics'); } catch (e) { return; }
    listeners.slice().forEach(function (l) {
      try { l.cb(snapshot); } catch (e) { /* the page's listener failing stays its own */ }
    });
  }

  /** `on(event, cb)`: a function that unsubscribes (a no-op one for anything but 'metrics'). */
  function subscribe(event, cb) {
    if (event !== 'metrics' || typeof cb !== 'function') return function () {};
    // zone.js: called back in the zone it subscribed in (`wrap`), as by the page's own timer.
    // (Looked up before it is used: without zone.js, most pages, nothing throws, not even
    // caught, which would stop a debugger paused on caught exceptions.)
    try { if (globalThis.Zone) cb = Zone.current.wrap(cb, 'funnelcake'); } catch (e) { /* an odd zone.js */ }
    var l = { cb: cb };
    listeners.push(l);
    return function () {
      var i = listeners.indexOf(l);
      if (i >= 0) listeners.splice(i, 1);
    };
  }

  function drain() {
    if (draining) return; // a listener calling back in: the loop below gets to its calls
    // An SPA page view held for its title goes first: a hide, flush() or state read in the
    // task that navigated (a checkout leaving for its payment page) would otherwise miss it.
    releasePageView();
    draining = true;
    for (var i = 0; i < pending.length; i++) {
      var c = pending[i];
      if (!c[0]) continue; // cancelled
      try {
        c[0][c[1]](c[2], c[3], copy(c[4]));
        notify(c[0]);
      } catch (e) { /* a bad call is dropped, the rest still run */ }
    }
    pending.length = 0;
    draining = false;
  }

  function tick() {
    ticking = false;
    drain();
  }

  /** Calls the wasm export behind a recording method, with the captured context (if any); with
   * `later`, queues the call for the next drain instead. */
  function record(sdk, m, a, ctx, later) {
    releasePageView();
    if (m === 'consent') { drain(); sdk.consent(a[0]); return notify(sdk); }
    if (m === 'experiment') {
      drain();
      var r = experimentResult(a[1], sdk.experiment(a[0], copy(a[1]), copy(here(ctx))));
      notify(sdk);
      try {
        if (a[1] && typeof a[1].onAssign === 'function') a[1].onAssign(r);
      } catch (e) { /* the page's callback failing must not change the result */ }
      return r;
    }
    var f = m, first = a[0], props = a[1];
    // The user id as text: a number's (the wasm reads strings only); cut to 256 UTF-16 units,
    // since one near the event size limit would make every later event too large to send (GA4
    // refuses ids past 256 characters; the collector cuts at as many). Anything else: none.
    if (m === 'identify') {
      first = typeof first === 'string' || typeof first === 'number' && isFinite(first) ? String(first).slice(0, 256) : null;
    }
    if (m !== 'track' && m !== 'identify') {
      f = 'track'; first = eventOf(m); props = a[0];
      if (m === 'search' && typeof props === 'string') props = { search_term: props };
      if (m === 'checkoutStep') props = Object.assign({}, a[1], { step: a[0] });
    }
    props = copy(props);
    ctx = here(ctx);
    if (!later) {
      sdk[f](first, props, copy(ctx));
      return notify(sdk);
    }
    pending.push([sdk, f, first, props, ctx]);
    // Bounded: a page that never yields gets its calls recorded in chunks.
    if (pending.length >= 100) drain(); // (inside a drain, its loop gets to this call)
    else if (!ticking) { timeout(tick, 0); ticking = true; } // (if that throws: at the next call)
  }

  /**
   * Do Not Track (`navigator.doNotTrack` or the legacy `window.doNotTrack` is "1") or Global
   * Privacy Control (`navigator.globalPrivacyControl`) is on; how the SDK honours it is the
   * config's `privacy` (README, privacy).
   */
  function privacySignal(w) {
    try {
      var n = w.navigator || {};
      return !!n.globalPrivacyControl || n.doNotTrack === '1' || w.doNotTrack === '1';
    } catch (e) {
      return false;
    }
  }

  /**
   * `init(cfg)`; once it succeeds, starts automatic capture (SPA page views, dataLayer) as the
   * config allows, once per page.
   */
  var capturing = []; // windows whose capture has started
  function initSdk(sdk, cfg, w, d) {
    // The page context, plus what only init needs: the privacy signal and the visibility.
    var c = here() || {};
    c.signal = privacySignal(w);
    c.hidden = !!(d && d.hidden);
    var ok = sdk.init(copy(cfg), copy(c));
    // A key that is no option (a misspelt `flushInterval`, say) is ignored; debug mode names it.
    if (ok && cfg.debug && w && w.console) {
      for (var k in cfg) if (!ATTRS[k] && k != 'funnels') w.console.warn('funnelcake: unknown config.' + k);
    }
    if (ok) notify(sdk); // the automatic page view
    if (ok && w && capturing.indexOf(w) < 0) {
      capturing.push(w);
      releasePageView = capture.start(w, d, cfg || {}, function (m, a, ctx) {
        // js/capture.js gets the call queued (`[sdk, method, event, …]`, if it was: none once
        // drained), and cancels one still waiting by clearing its SDK (`drain` skips it).
        try {
          record(sdk, m, a, ctx, true);
          return pending[pending.length - 1];
        } catch (e) { /* a bad entry is dropped */ }
      });
    }
    return ok;
  }

  /** The real API over the wasm module's exports. */
  function realApi(sdk, w, d) {
    // The wasm asks js/tabs.js (Web Locks) and js/net.js (fetch, sendBeacon), which call it
    // back, and js/env.js (storage, random bytes), which only answers.
    tabs.use(sdk, w);
    net.use(sdk, w);
    env.use(w);
    var api = {
      init: safe(function (cfg) { drain(); return initSdk(sdk, cfg, w, d); }, false),
      on: subscribe,
      flush: function () {
        drain();
        // js/net.js takes it from here (it hears when each batch lands); never rejects.
        return new Promise(net.flush);
      },
      reset: safe(function () { drain(); sdk.reset(); notify(sdk); }),
      ready: true
    };
    ['metrics', 'debugState'].forEach(function (m) {
      api[m] = safe(function () { drain(); return state(sdk, m); }, null);
    });
    RECORDING.forEach(function (m) {
      api[m] = safe(function () { return record(sdk, m, arguments, undefined, true); });
    });
    // The page's lifecycle, heard in the capture phase on window and handed to the wasm
    // (`lifecycle(code)`: 0 visible, 1 hidden, 2 page hide, 3 page hide into the back/forward
    // cache, 4 another tab wrote storage) after the calls still held are recorded: on hide it
    // writes and beacons what has been recorded.
    if (w && w.addEventListener) {
      // On hide, batches still being compressed (js/net.js) go first, plain.
      var life = safe(function (code) { if (code && code < 4) net.hide(); drain(); sdk.lifecycle(code); });
      listen(w, 'visibilitychange', function () { life(d && d.hidden ? 1 : 0); });
      listen(w, 'pagehide', function (e) { life(e && e.persisted ? 3 : 2); });
      listen(w, 'storage', function () { life(4); });
    }
    var experiment = api.experiment;
    api.experiment = function (key, opts) { return experiment(key, opts) || experimentResult(opts, -1); };
    return api;
  }

  /** Replays queued calls in order; `init` from the queue wins over data attributes. */
  function replay(sdk, queue, scriptConfig, w, d) {
    var hasInit = queue.some(function (c) { return c[0] === 'init'; });
    if (!hasInit && scriptConfig.site) initSdk(sdk, scriptConfig, w, d);
    queue.forEach(function (call) {
      try {
        var m = call[0], ctx = call[1] || undefined, a = call[2] || [];
        if (m === 'init') initSdk(sdk, a[0], w, d);
        else if (m === 'reset') { sdk.reset(); notify(sdk); }
        else if (m === 'flush') net.flush(call[3]);
        else if (m === 'on' && call[2]) {
          call[3] = subscribe(a[0], a[1]);
          // Subscribed before the SDK was ready: deliver the current snapshot once.
          if (a[0] === 'metrics') a[1](state(sdk, 'metrics'));
        }
        else if (RECORDING.indexOf(m) >= 0) record(sdk, m, a, ctx);
      } catch (e) { /* a bad call is dropped, the rest still run */ }
    });
  }

  /** Finds our script tag (currentScript is null only in callbacks and modules). */
  function findScript(d) {
    return d.currentScript || (d.querySelector && d.querySelector('script[data-site][src*="funnelcake"]'));
  }

  function boot(w, d) {
    var script = findScript(d);
    if (typeof WebAssembly !== 'object' || !script || !script.src) return stubOf(w, d);
    var scriptConfig = configFromScript(script);
    attach(w, d, function () {
      // The wasm-bindgen glue and js/prefetch.js are part of this file (scripts/build.sh), so
      // the wasm is the only other request, usually already started; it is compiled as it
      // streams in.
      var glue = wasm_bindgen;
      return glue({ module_or_path: fcWasm || fcFetchWasm(script) }).then(function () { return glue; });
    }, scriptConfig);
  }

  /**
   * Installs the stub, then `load()`s the wasm module (a promise of its exports), replaces the
   * stub with the real API and replays the queue. Used by the script tag and the ES module entry.
   */
  function attach(w, d, load, scriptConfig) {
    var stub = stubOf(w, d);
    if (stub.ready || stub._loading) return; // loaded twice: the SDK is already (being) set up
    stub._loading = true;
    load()
      .then(function (sdk) {
        var start = safe(function () {
          var queue = stub._q.splice(0);
          w.funnelcake = realApi(sdk, w, d);
          replay(sdk, queue, scriptConfig, w, d);
        });
        // A page the browser prerenders (speculation rules, a likely address-bar result) is not
        // seen yet and may never be: the SDK starts, and the page view is recorded, once it is
        // shown (`prerenderingchange` fires once). Until then the stub queues the page's calls,
        // as before the wasm loaded.
        if (d.prerendering) listen(d, 'prerenderingchange', start);
        else start();
      })
      .catch(function (e) {
        if (scriptConfig.debug && w.console) w.console.warn('funnelcake: SDK not loaded', e);
      });
  }

  // The parts node tests exercise alone are exported to them only (`node` is false in the build).
  return node ? {
    boot: boot, attach: attach, installStub: stubOf, configFromScript: configFromScript, replay: replay,
    realApi: realApi, copy: copy, RECORDING: RECORDING, HELPERS: RECORDING.filter(function (m) { return m !== 'track'; }).slice(0, 10)
  } : { boot: boot, attach: attach, installStub: stubOf };
});
