// ES module entry (package.json "exports"): `import { init, track } from 'funnelcake'`.
// Built as dist/funnelcake/funnelcake.mjs: the wasm-bindgen glue + js/snippet.js +
// js/capture.js + js/loader.js + this file, one module. Every export calls window.funnelcake:
// the queueing stub until the wasm is ready, the real API after; the first call starts loading
// the wasm beside this file.
/* global fcLoader, wasm_bindgen */

/** Marks this build as the module entry (hoisted: the loader checks it instead of booting). */
function fcEsm() {}

var started = false;

function api() {
  if (typeof window === 'undefined') return null; // server-side rendering: nothing to do
  if (!started && typeof WebAssembly === 'object') {
    started = true;
    var start = function () {
      fcLoader.attach(window, document, function () {
        var glue = wasm_bindgen;
        return glue({ module_or_path: fetch(new URL('./funnelcake.wasm', import.meta.url)) }).then(function () { return glue; });
      }, {});
    };
    // The first call usually comes from app code, which in an Angular app runs inside its zone
    // (zone.js): loading started there would run each of its promise steps in that zone, and
    // the app's change detection after each. Started in zone.js's root zone instead, as a
    // script tag's load is (README, "Living with the page's other scripts"); as js/widgets.js
    // sets up its elements.
    var root;
    try { root = window.Zone && window.Zone.root; } catch (e) { /* an odd zone.js */ }
    if (root && typeof root.run === 'function') root.run(start);
    else start();
  }
  return fcLoader.installStub(window, document);
}

function method(name) {
  return function () {
    var fc = api();
    return fc ? fc[name].apply(null, arguments) : undefined;
  };
}

export var init = method('init');
export var page = method('page');
export var track = method('track');
export var viewItem = method('viewItem');
export var addToCart = method('addToCart');
export var removeFromCart = method('removeFromCart');
export var viewCart = method('viewCart');
export var beginCheckout = method('beginCheckout');
export var checkoutStep = method('checkoutStep');
export var purchase = method('purchase');
export var refund = method('refund');
export var search = method('search');
export var identify = method('identify');
export var experiment = method('experiment');
export var consent = method('consent');
export var reset = method('reset');
export var metrics = method('metrics');
/** `on(event, cb)`, with `cb` bound to the caller's zone.js zone here: a subscription made before
 * the SDK is ready waits in the stub and is taken up by the loader in the root zone (where
 * loading runs, above), which is not the app's. (The loader's `subscribe` wraps the same way
 * once the SDK is ready; a shared helper in js/native.js made funnelcake.js 17 bytes larger.) */
export function on(event, cb) {
  try {
    var zone = window.Zone;
    if (typeof cb === 'function' && zone && zone.current) cb = zone.current.wrap(cb, 'funnelcake');
  } catch (e) { /* no zone.js, or no window (server-side rendering) */ }
  var fc = api();
  return fc ? fc.on(event, cb) : undefined;
}
export var flush = method('flush');
export { fcEsm as _esm };
