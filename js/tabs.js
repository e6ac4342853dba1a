// funnelcake tabs (shipped inside funnelcake.js): the browser side of handing a closed tab's
// persisted queue to a tab that is still open. The rules live in src/outbox.rs; the wasm calls
// `claim` and `adopt` here, and this file talks to `navigator.locks` and localStorage and calls
// the SDK back through its `claimed(tab)` and `adopt(queue)` exports. Lock callbacks and promise
// handlers made here cost a few bytes; made in the wasm, each costs a closure and its glue.
// Nothing here throws into the page.
var fcTabs = (function () {
  'use strict';
  /* global fcTimeout */
  var timeout = typeof module === 'object' && module.exports ? require('./native.js').timeout : fcTimeout; // js/native.js
  var sdk, w;
  // Tabs whose lock this page is waiting for (one request per tab).
  var waiting = {};
  // Each settles a promise that keeps a lock `claim` took held. One per tab: a page can have
  // claimed for more than one (the SDK initialised for another site).
  var held = [];

  /** `navigator.locks`, or null (no Web Locks, or a getter that throws). */
  function locks() {
    try {
      var l = w.navigator.locks;
      return l && typeof l.request === 'function' ? l : null;
    } catch (e) {
      return null;
    }
  }

  /** `locks.request(name, cb)`; false if it threw. An aborted request's rejection is swallowed. */
  function request(l, name, cb) {
    try {
      l.request(name, cb).catch(function () {});
      return true;
    } catch (e) {
      return false;
    }
  }

  return {
    /** The SDK's exports and the page's window, set by the loader once the wasm is ready. */
    use: function (s, win) { sdk = s; w = win; },

    /**
     * Takes `lock` for the page's lifetime (or until `release`), then calls
     * `claimed(tab)`; without Web Locks, in the next task. False if it could do neither (a page
     * whose `setTimeout` throws): the wasm then takes its queue as its own at once.
     */
    claim: function (lock, tab) {
      // `grant`: the Lock granted (none without Web Locks), held until `release`.
      function granted(grant) {
        try { sdk.claimed(tab); } catch (e) { /* a trap stays out of the lock's promise */ }
        return grant && new Promise(function (r) { held.push(r); });
      }
      try {
        var l = locks();
        if (!l || !request(l, lock, granted)) timeout(granted, 0); // (no grant)
        return true;
      } catch (e) {
        return false;
      }
    },

    /**
     * Lets go of every lock `claim` took (the page is going into the back/forward cache, or the
     * SDK was initialised for another site; the queue is written for another tab to take over);
     * false if none was held.
     */
    release: function () {
      var r = held;
      held = [];
      r.forEach(function (f) { f(); });
      return r.length > 0;
    },

    /**
     * Hands every other tab's queue (keys `prefix` + tab, values `<last write ms>|<queue
     * JSON>`) to `adopt(queue JSON)` once that tab is gone, and removes the key if `adopt`
     * returned true. With Web Locks: when the browser grants that tab's lock (`lockPrefix` +
     * tab), which it does only once the tab is gone, to one page at a time. Without: when the
     * queue was not written for `staleMs` (or its time is unreadable), at once.
     */
    adopt: function (prefix, own, lockPrefix, now, staleMs) {
      var store, keys = [], l = locks();
      try {
        store = w.localStorage;
        for (var i = 0; i < store.length; i++) {
          var k = store.key(i);
          if (k.indexOf(prefix) === 0 && k !== own) keys.push(k);
        }
      } catch (e) {
        return; // storage blocked: there is nothing to hand over
      }
      keys.forEach(function (key) {
        var tab = key.slice(prefix.length);
        function take() {
          try {
            var v = store.getItem(key);
            if (v !== null && sdk.adopt(v.slice(v.indexOf('|') + 1))) store.removeItem(key);
          } catch (e) { /* left for a later look */ }
        }
        if (l) {
          if (waiting[tab]) return;
          waiting[tab] = 1;
          if (!request(l, lockPrefix + tab, function () { delete waiting[tab]; take(); })) delete waiting[tab];
        } else {
          try {
            if (!(now - parseFloat(store.getItem(key)) < staleMs)) take();
          } catch (e) { /* left for a later look */ }
        }
      });
    }
  };
})();
if (typeof module === 'object' && module.exports) module.exports = fcTabs;
