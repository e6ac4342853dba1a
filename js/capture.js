// funnelcake capture (shipped inside funnelcake.js, after the licence comment of loader.js)
// Zero-instrumentation capture, run by the loader once the SDK is initialised:
// - SPA page views from history.pushState / replaceState / popstate (one per path+query change),
//   and a page view when the page is shown again from the back/forward cache;
// - the GA4 / GTM dataLayer: GA4 e-commerce pushes (also those made before the SDK loaded),
//   the {ecommerce: null} clear, gtag-style ['event', name, params] and ['consent', ...] entries,
//   and Universal Analytics enhanced-ecommerce pushes.
// `send(method, args, ctx)` is the loader's recorder; nothing here ever throws into the page.
var fcCapture = (function () {
  'use strict';
  /* global fcTimeout, fcListen */
  var native = typeof module === 'object' && module.exports ? require('./native.js') : null; // js/native.js
  var timeout = native ? native.timeout : fcTimeout, listen = native ? native.listen : fcListen;

  // GA4 recommended e-commerce events taken from the dataLayer (others, including gtm.* and
  // page_view, are left alone: page views come from autoPageviews).
  var GA4 = ('view_item_list select_item view_item add_to_cart remove_from_cart view_cart add_to_wishlist ' +
    'begin_checkout checkout_contact add_shipping_info add_payment_info purchase refund search view_promotion select_promotion')
    .split(' ');
  // Universal Analytics enhanced-ecommerce actions (the key inside `ecommerce`) → GA4 event,
  // by its place in GA4 (view_item_list, select_item, view_item, add_to_cart, remove_from_cart,
  // begin_checkout, purchase, refund, view_promotion, select_promotion).
  var UA = {
    impressions: 0, click: 1, detail: 2, add: 3, remove: 4, checkout: 7, purchase: 11, refund: 12,
    promoView: 14, promoClick: 15
  };

  function isObj(x) { return x !== null && typeof x === 'object'; }

  /**
   * Sends the calls a UA `ecommerce` object holds, in the table's order (a push may carry
   * impressions and promotion views beside its action: a product page's related products), and
   * answers how many it found.
   */
  function fromUA(ec, send) {
    var found = 0;
    for (var key in UA) {
      var action = ec[key];
      if (!isObj(action)) continue;
      var af = Object(action.actionField);
      var props = {
        currency: ec.currencyCode,
        items: Array.isArray(action) ? action : action.products || action.promotions,
        item_list_name: af.list, transaction_id: af.id, value: af.revenue, tax: af.tax, shipping: af.shipping,
        coupon: af.coupon
      };
      // Checkout step 1 starts the checkout; steps 2 and 3 are GA4's add_shipping_info and
      // add_payment_info (GA4[9], GA4[10]), so that a GA4 twin finds them by name; later steps
      // are checkout steps by number.
      var step = key === 'checkout' && Number(af.step);
      found++;
      // (Marked as UA for `watchDataLayer`, which hands the recorder only the call.)
      if (step > 3) send('checkoutStep', [step, props], 1);
      else send('track', [GA4[step > 1 ? step + 7 : UA[key]], props], 1);
    }
    return found;
  }

  /**
   * Sends the recorder's calls one dataLayer entry makes (none when it is not ours).
   * `model` carries the last `ecommerce` object like GTM's data model does (cleared by
   * `{ecommerce: null}`), so a GA4 event pushed after its ecommerce data still gets it. A UA
   * object is recorded once, from the push that carries it, whatever its event (GA4's
   * `purchase` included): later events (`gtm.dom`, `gtm.load`, a click) find it in the model too.
   */
  function fromEntry(entry, model, send) {
    if (!isObj(entry)) return;
    // GA4's user id: a visitor signing in or out (`null`, as for GA4, or any value but a text or
    // number clears it). It comes in gtag's parameters (['config', id, {user_id}],
    // ['set', {user_id}], an event's) or in a push for GTM's tag. The SDK records an unchanged
    // one, which each page sends again, as nothing.
    var id = Object(entry[2] || entry[1] || entry).user_id;
    if (id !== undefined) send('identify', [id]);
    // gtag() pushes its `arguments` (every arguments object has a `callee`, strict mode's too),
    // read in place like an array: ['event', name, params] or ['consent', 'default'|'update', {...}].
    if (Array.isArray(entry) || 'callee' in entry) {
      if (entry[0] === 'event' && GA4.indexOf(entry[1]) >= 0) send('track', [entry[1], isObj(entry[2]) ? entry[2] : {}]);
      // A default that does not grant waits for the visitor's choice, which an update gives.
      var storage = Object(entry[2]).analytics_storage;
      if (entry[0] === 'consent' && typeof storage === 'string') {
        send('consent', [storage === 'granted' ? 'granted' : entry[1] === 'update' ? 'denied' : 'pending']);
      }
      return;
    }
    var own = 'ecommerce' in entry;
    if (own) model.ecommerce = isObj(entry.ecommerce) ? entry.ecommerce : null;
    var ev = entry.event, ec = model.ecommerce;
    if (isObj(ec) && fromUA(ec, own ? send : function () {})) return;
    if (GA4.indexOf(ev) < 0) return;
    // GA4 puts items/value/currency in `ecommerce`; other parameters (search_term, ...) at the top.
    var props = {};
    for (var k in entry) if (k !== 'event' && k !== 'ecommerce' && !k.startsWith('gtm.')) props[k] = entry[k];
    for (var j in ec) props[j] = ec[j];
    send('track', [ev, props]);
  }

  /**
   * Replays what `dl` already holds, then hears every later push (GTM chains our push).
   *
   * A page tagged in both dialects (left from a migration to GA4: a platform plugin pushing
   * each action as UA and as GA4) would record each action twice. GA4's wins: a GA4 call
   * cancels a UA call of the same event that the recorder still holds (it records a task's
   * calls after the task: the replay of what the dataLayer held, or a click's pushes), and once
   * the page has had a GA4 event, a UA call of it is not made.
   */
  function watchDataLayer(dl, send) {
    var model = {}, ga4 = {}, held = {};
    function take(entry) {
      try {
        fromEntry(entry, model, function (m, a, ua) {
          var n = a[0];
          if (ua) {
            if (!ga4[n]) held[n] = send(m, a);
          } else {
            ga4[n] = 1;
            // The recorder's queued call is `[sdk, method, event, …]`; without its SDK it is
            // skipped.
            if (held[n]) held[n][0] = 0;
            send(m, a);
          }
        });
      } catch (e) { /* odd contents are ignored, never thrown */ }
    }
    dl.forEach(take);
    var push = dl.push;
    dl.push = function () {
      var r = push.apply(dl, arguments);
      [].forEach.call(arguments, take);
      return r;
    };
  }

  /** Path and query: what makes a new page view (hash changes do not). */
  function place(w) { return w.location.pathname + w.location.search; }

  /**
   * A page_view per SPA navigation, with the previous page as referrer. The view is held until
   * the app had a turn to render (setTimeout 0) so it gets the new document.title, but any event
   * recorded meanwhile first releases it (`flush`), so the order of events is kept, and so does
   * whatever drains the loader's queue (a page hide in the task that navigated, flush(), a state
   * read), so it is never left behind.
   */
  function watchHistory(w, d, send) {
    var last = place(w), pending = null;
    function flush() {
      var p = pending;
      pending = null;
      if (p) { p.title = d.title; send('page', [], p); }
    }
    function check() {
      var now = place(w);
      if (now === last) return;
      flush();
      pending = { ts: Date.now(), url: now, ref: w.location.origin + last };
      last = now;
      timeout(flush, 0);
    }
    ['pushState', 'replaceState'].forEach(function (name) {
      var orig = w.history && w.history[name];
      if (typeof orig !== 'function') return;
      w.history[name] = function () {
        var r = orig.apply(this, arguments);
        try { check(); } catch (e) { /* never into the page */ }
        return r;
      };
    });
    // Capture phase: before the popstate listeners the app adds after us, so a view still held
    // is released with the title of its page, before the app renders the page it goes back to.
    // (Chrome runs a window's listeners in the order they were added, capturing or not: one the
    // app added first renders first. Only a back navigation within the 0 ms of a view being
    // held, which no person makes, then gives the view the next page's title.)
    listen(w, 'popstate', function () { try { check(); } catch (e) { /* ignore */ } });
    // Back (or forward) to a page the browser kept in its back/forward cache: no load, but the
    // visitor sees the page again, so it is a view of it (its referrer is the document's).
    // (`send` is the loader's recorder, which never throws.)
    listen(w, 'pageshow', function (e) { if (e && e.persisted) { flush(); send('page', []); } });
    return flush;
  }

  /**
   * Starts what `cfg` enables (both on by default). Returns a function that releases a held SPA
   * page view; the loader calls it before recording anything else.
   */
  function start(w, d, cfg, send) {
    var flush = function () {};
    if (cfg.autoPageviews !== false && w.history) flush = watchHistory(w, d, send);
    if (cfg.dataLayer !== false) {
      var dl = w.dataLayer = w.dataLayer || [];
      if (Array.isArray(dl)) watchDataLayer(dl, send);
    }
    return flush;
  }

  // The parts node tests exercise alone are exported to them only (the build defines `module`
  // as false).
  return typeof module === 'object' && module.exports
    ? { start: start, fromEntry: fromEntry, watchDataLayer: watchDataLayer, watchHistory: watchHistory, GA4: GA4, UA: UA }
    : { start: start };
})();
if (typeof module === 'object' && module.exports) module.exports = fcCapture;
