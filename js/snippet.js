// The queueing stub. Inline snippet (README "Snippet + tag"): paste its minified form
// (dist/funnelcake/snippet.min.js, under 1 KB) into the page's <head> before the funnelcake
// script tag. The loader carries the same code (the one-tag embed installs it itself).
// window.funnelcake's methods queue [method, context, args] with the page context at call time;
// the loader replays the queue in order once the SDK is ready.
function fcStub(w, d) {
  var fc = w.funnelcake;
  if (fc) return fc;
  var q = [];
  fc = { _q: q, _stub: true };
  ('init page track viewItem addToCart removeFromCart viewCart beginCheckout checkoutStep purchase refund ' +
    'search identify experiment consent reset flush on metrics').split(' ').forEach(function (m) {
    fc[m] = function () {
      var a = [].slice.call(arguments), l = w.location,
        e = [m, { ts: Date.now(), url: l.pathname + l.search, ref: d.referrer, title: d.title }, a];
      if (m == 'metrics') return null; // no snapshot before the SDK is ready
      if (m == 'on') {
        // Unsubscribing before the SDK is ready cancels the queued subscription; after, the
        // loader stores the real unsubscribe function on the entry.
        e[1] = null;
        q.push(e);
        return function () { e[2] = null; if (e[3]) e[3](); };
      }
      if (m == 'flush') return new Promise(function (r) { e[3] = r; q.push(e); });
      if (m == 'experiment') {
        // Control until the SDK is ready; with onAssign the real assignment follows.
        var o = a[1] || {}, v = o.variations;
        if (typeof o.onAssign == 'function') q.push(e);
        return { variation: 0, value: Array.isArray(v) ? v[0] : 0, inExperiment: false };
      }
      // Bounded: a never-loading SDK must not grow the page's memory.
      if (q.length < 1000) q.push(e);
    };
  });
  return w.funnelcake = fc;
}
if (typeof window == 'object') fcStub(window, document);
if (typeof module == 'object' && module.exports) module.exports = fcStub;
