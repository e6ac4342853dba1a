// funnelcake native (shipped inside funnelcake.js): the browser's own `setTimeout` and
// `addEventListener`, for the loader, capture, tabs and net. zone.js, which Angular apps load,
// replaces the page's with versions that run the app's change detection after every callback
// scheduled inside the app's zone, and keeps each original as `__zone_symbol__<name>` (its
// `Zone.__symbol__(name)`; a page can change that prefix, and then gets its own functions).
// Through the page's versions, a `track()` from a click handler would re-render the whole app
// once more when the SDK records it, and again at each flush timer and page lifecycle event;
// through these, never. A page without zone.js gets its own functions. (`clearTimeout` needs no
// such care: zone.js's clears a timer it did not make with the browser's own.)

/** `setTimeout(fn, ms)`; throws only if the page's own `setTimeout` does. */
function fcTimeout(fn, ms) {
  return (globalThis.__zone_symbol__setTimeout || setTimeout).call(globalThis, fn, ms);
}

/** `t.addEventListener(type, fn, true)`: in the capture phase, before the page's own. */
function fcListen(t, type, fn) {
  (t.__zone_symbol__addEventListener || t.addEventListener).call(t, type, fn, true);
}

if (typeof module === 'object' && module.exports) module.exports = { timeout: fcTimeout, listen: fcListen };
