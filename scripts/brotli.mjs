// Brotli as the SDK's files are shipped: quality 11, the input's size as the hint, text mode for
// scripts. One definition for the build's `.br` copies (scripts/precompress.mjs) and the
// benchmarks' brotli figures and server (bench/common.mjs, bench/browser/server.mjs), so what
// they measure is what a browser receives.
import zlib from 'node:zlib';

/** `buf` brotli-compressed as the build's `.br` copy of a file named `name` would be. */
export function brotli(buf, name) {
  const { constants: c } = zlib;
  return zlib.brotliCompressSync(buf, {
    params: {
      [c.BROTLI_PARAM_QUALITY]: 11,
      [c.BROTLI_PARAM_SIZE_HINT]: buf.length,
      [c.BROTLI_PARAM_MODE]: name.endsWith('.wasm') ? c.BROTLI_MODE_GENERIC : c.BROTLI_MODE_TEXT,
    },
  });
}
