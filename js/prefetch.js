// First statement of funnelcake.js (scripts/build.sh): starts downloading the wasm before the
// rest of the script is parsed and run, about 2–3 ms sooner than the loader's boot() would
// (BENCHMARKS.md). The loader uses this response if there is one, and fetches itself otherwise.
// A failed download is marked handled here, so a page that never uses it (the script included
// twice) sees no unhandled rejection; the loader still sees the failure.
var fcWasm = (function (s) {
  try {
    if (!s || !s.src || typeof WebAssembly !== 'object') return null;
    var p = fetch(s.src.replace(/[^/]*([?#].*)?$/, '') + 'funnelcake.wasm');
    p.catch(function () {});
    return p;
  } catch (e) {
    return null;
  }
})(typeof document === 'object' && document.currentScript);
