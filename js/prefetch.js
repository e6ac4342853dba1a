// First statement of funnelcake.js (scripts/build.sh): starts downloading the wasm before the
// rest of the script is parsed and run, about 2–3 ms sooner than the loader's boot() would
// (BENCHMARKS.md). The loader uses this response if there is one, and otherwise calls
// fcFetchWasm itself with the script it found.
/* exported fcWasm */
/* global FC_WASM_V */ // the wasm's version, defined by scripts/build.sh
'use strict'; // for everything the build puts in funnelcake.js after this file

/**
 * Fetches this build's funnelcake.wasm (`?v=` its version) next to `script`; null without a
 * script URL or WebAssembly, or if fetch throws. A failed download is marked handled here, so a page that never uses it (the
 * script included twice) sees no unhandled rejection; the loader still sees the failure.
 */
function fcFetchWasm(script) {
  try {
    if (!script || !script.src || typeof WebAssembly !== 'object') return null;
    // Resolved against the script's URL: its file name, query and hash give way.
    var p = fetch(new URL('funnelcake.wasm?v=' + FC_WASM_V, script.src));
    p.catch(function () {});
    return p;
  } catch (e) {
    return null;
  }
}
var fcWasm = fcFetchWasm(typeof document === 'object' && document.currentScript);
