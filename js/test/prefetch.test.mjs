// js/prefetch.js: starts the wasm download from the script's own URL, and never throws into the
// page or leaves an unhandled rejection behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';

const SOURCE = readFileSync(new URL('../prefetch.js', import.meta.url), 'utf8');

function run(globals) {
  // FC_WASM_V is the wasm's version, which scripts/build.sh defines.
  const context = vm.createContext({ FC_WASM_V: 'ab12cd34', URL, ...globals });
  vm.runInContext(SOURCE, context);
  return context.fcWasm;
}

test("fetches this build's funnelcake.wasm next to the script, the script's query and hash ignored", async () => {
  const urls = [];
  const p = run({
    document: { currentScript: { src: 'https://cdn.example/fc/1.2/funnelcake.js?v=3#x' } },
    WebAssembly: {},
    fetch: (url) => { urls.push(url); return Promise.resolve('response'); },
  });
  assert.deepEqual(urls.map(String), ['https://cdn.example/fc/1.2/funnelcake.wasm?v=ab12cd34']);
  assert.equal(await p, 'response');
});

test('no script URL, no WebAssembly, a script URL nothing resolves against or a throwing fetch: null, nothing thrown', () => {
  const script = { currentScript: { src: 'https://cdn.example/funnelcake.js' } };
  assert.equal(run({ document: { currentScript: null }, WebAssembly: {}, fetch: () => Promise.resolve() }), null);
  assert.equal(run({ document: script, WebAssembly: undefined, fetch: () => Promise.resolve() }), null);
  assert.equal(run({ document: script, WebAssembly: {}, fetch: () => { throw new Error('hostile'); } }), null);
  assert.equal(run({}), null);
  // A script with no place of its own (a data: URL): no wasm beside it, nothing thrown.
  assert.equal(run({ document: { currentScript: { src: 'data:text/javascript,1' } }, WebAssembly: {}, fetch: () => Promise.resolve() }), null);
});

test('a failed download is marked handled (no unhandled rejection) and still seen by the loader', async () => {
  let unhandled = 0;
  const onUnhandled = () => { unhandled += 1; };
  process.on('unhandledRejection', onUnhandled);
  try {
    const p = run({ document: { currentScript: { src: 'https://cdn.example/funnelcake.js' } }, WebAssembly: {},
      fetch: () => Promise.reject(new Error('offline')) });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(unhandled, 0);
    await assert.rejects(p, /offline/);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
