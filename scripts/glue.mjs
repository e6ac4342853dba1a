// Shapes the wasm-bindgen glue (pinned: wasm-bindgen =0.2.129) and the wasm for shipping:
// - renames the wasm's imports, exports and import module to one or two letters and rewrites
//   the glue to match. wasm-bindgen names each import `__wbg_<name>_<16 hex digits>`; those
//   names appear once in the wasm and once in the glue, about 2.5 KB that gzip cannot compress;
// - replaces the glue's general-purpose initialisers (`initSync`, and `__wbg_init` accepting
//   paths, URLs, Requests, bytes or modules, with deprecation warnings, and the script URL it
//   derived a default path from) by the one call the loader makes,
//   `wasm_bindgen({ module_or_path: fetch(url) })`: streaming compilation, falling back to
//   `WebAssembly.instantiate` of the bytes as wasm-bindgen's does.
// - drops its fallbacks for browsers older than the SDK supports (`encodeInto`,
//   `FinalizationRegistry`), and reads strings through its byte view rather than a second one.
// Fails, rather than building a broken SDK, if anything it rewrites is not found exactly where
// expected (BENCHMARKS.md, size steps).
//
//   node scripts/glue.mjs <in.wasm> <glue.js> <out.wasm> <out-glue.js>
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { exportNames, features } from './wasm.mjs';

const [inWasm, glueIn, outWasm, glueOut] = process.argv.slice(2);
let glue = readFileSync(glueIn, 'utf8');

function fail(msg) {
  console.error(`glue: ${msg}`);
  process.exit(1);
}

// The glue's reads of an export: `wasm.<name>`.
const WASM_READ = /\bwasm\.([A-Za-z_$][\w$]*)/g;
// Exports the glue never reads (`wasm.<name>`) are removed, and with them what only they kept:
// wasm-bindgen's `__abort_handler` and `__instance_terminated` globals, for a reinitialising
// glue this one is not (−12 bytes gzip).
const read = new Set([...glue.matchAll(WASM_READ)].map((m) => m[1]));
const unread = exportNames(readFileSync(inWasm)).filter((name) => !read.has(name));
const removal = unread.length
  ? ['--remove-exports', `--pass-arg=remove-exports@${unread.join(',')}`, '--remove-unused-module-elements']
  : [];
// wasm-opt prints the renaming as JSON: {"imports": [[module, old, new], …], "exports": [[old, new], …]}.
const map = JSON.parse(execFileSync('wasm-opt', [...features, inWasm, ...removal, '--minify-imports-and-exports-and-modules', '-o', outWasm], { encoding: 'utf8' }));

// The import module: the glue passes one import object, under wasm-bindgen's module name.
const modules = new Set(map.imports.map((i) => i[0]));
if (modules.size !== 1) fail(`expected one import module, found ${[...modules].join(', ')}`);
const [module] = modules;
const moduleKey = `${JSON.stringify(module)}: import0`;
if (glue.split(moduleKey).length !== 2) fail(`import module key ${moduleKey} not found once in the glue`);
const wasmText = execFileSync('wasm-opt', [...features, outWasm, '--print'], { encoding: 'utf8', maxBuffer: 1 << 28 });
const newModule = /\(import "([^"]+)"/.exec(wasmText)?.[1];
if (!newModule) fail('renamed import module not found in the wasm');
glue = glue.replace(moduleKey, `${JSON.stringify(newModule)}: import0`);

// Members of the glue's import object the wasm does not import (wasm-bindgen writes one for
// every import the Rust side declared; `wasm-opt` dropped those only unreachable code called,
// such as the throwing import behind `unwrap_throw`, which panics.mjs's stubs left uncalled):
// never called, so dropped.
const imported = new Set(map.imports.map((i) => i[1]));
// A member ends at its own closing line, `},` or (a `catch` import) `}, arguments); },`; should
// one be cut too long, the renaming below fails on the import it lost.
glue = glue.replace(/^ {12}(\w+): function\(.*?\n {12}\}(?:, arguments\); \})?,\n/gms, (member, name) => {
  if (imported.has(name)) return member;
  if (!name.startsWith('__wbg_')) fail(`import object member ${name} is not a wasm-bindgen import`);
  return '';
});

// Imports: each is one `name: function` member of the glue's import object.
for (const [, from, to] of map.imports) {
  const key = new RegExp(`(^|[\\s{,])${from}(\\s*:)`, 'g');
  const found = glue.match(key)?.length ?? 0;
  if (found !== 1) fail(`import ${from} found ${found} times in the glue`);
  glue = glue.replace(key, `$1${JSON.stringify(to)}$2`);
}

// Exports: the glue reads them as `wasm.<name>`; every such read must be renamed.
const exportsMap = new Map(map.exports);
glue = glue.replace(WASM_READ, (all, name) => {
  if (!exportsMap.has(name)) fail(`the glue reads wasm.${name}, which the wasm does not export`);
  return `wasm[${JSON.stringify(exportsMap.get(name))}]`;
});
// The initialiser: everything from `__wbg_load` to the end of `__wbg_init`.
const initStart = '    async function __wbg_load(module, imports) {';
const initEnd = '    return Object.assign(__wbg_init, { initSync }, exports);';
const from = glue.indexOf(initStart), to = glue.indexOf(initEnd);
if (from < 0 || to < from || glue.indexOf(initStart, from + 1) >= 0 || glue.indexOf(initEnd, to + 1) >= 0) {
  fail('the initialiser (__wbg_load … __wbg_init) is not where expected');
}
glue = glue.slice(0, from) + `    // scripts/glue.mjs: the loader's one call, \`wasm_bindgen({ module_or_path: fetch(url) })\`.
    async function __wbg_init(options) {
        const response = await options.module_or_path, imports = __wbg_get_imports();
        if (!response.ok) throw new Error('funnelcake.wasm: HTTP ' + response.status);
        let result;
        try {
            result = await WebAssembly.instantiateStreaming(response, imports);
        } catch (e) {
            // Served without the application/wasm MIME type (or no instantiateStreaming, as in
            // Safari before 15): compile from the bytes. After a failure that consumed the body
            // (a broken wasm), arrayBuffer() rejects and the loader leaves the stub in place.
            result = await WebAssembly.instantiate(await response.arrayBuffer(), imports);
        }
        return wasm = result.instance.exports;
    }

    return Object.assign(__wbg_init, exports);` + glue.slice(to + initEnd.length);
// The script's own URL, which only wasm-bindgen's initialiser used (for a default wasm path).
const scriptSrc = `    let script_src;
    if (typeof document !== 'undefined' && document.currentScript !== null) {
        script_src = new URL(document.currentScript.src, location.href).toString();
    }
`;
/** Replaces `text`, which must occur exactly once, by `by`. */
function replaceOnce(text, by, what) {
  if (glue.split(text).length !== 2) fail(`${what} is not where expected`);
  glue = glue.replace(text, () => by);
}
replaceOnce(scriptSrc, '', 'script_src');
if (glue.includes('script_src')) fail('script_src is still used');
// The finaliser of the initialisers cut above: it kept the instance and module, which nothing
// reads, and emptied the memory view's cache, which is empty before the one call.
replaceOnce(`    let wasmModule, wasmInstance, wasm;
    function __wbg_finalize_init(instance, module) {
        wasmInstance = instance;
        wasm = instance.exports;
        wasmModule = module;
        cachedUint8ArrayMemory0 = null;
        return wasm;
    }
`, '    let wasm;\n', 'the finaliser');
if (/wasmModule|wasmInstance|__wbg_finalize_init/.test(glue)) fail('the finaliser is still used');
// Fallbacks for browsers without TextEncoder.encodeInto (before Chrome 74, Firefox 66, Safari
// 14.1) or FinalizationRegistry (before Chrome 84, Firefox 79, Safari 14.1): all older than the
// SDK supports (README, browsers), so neither is shipped. (The glue has an encoder only if the
// wasm reads strings with wasm-bindgen's conversion, which js/env.js replaces; should one come
// back, its fallback is cut too.)
if (glue.includes('cachedTextEncoder')) replaceOnce(`
    if (!('encodeInto' in cachedTextEncoder)) {
        cachedTextEncoder.encodeInto = function (arg, view) {
            const buf = cachedTextEncoder.encode(arg);
            view.set(buf);
            return {
                read: arg.length,
                written: buf.length
            };
        };
    }
`, '', 'the encodeInto fallback');
// (The glue has a FinalizationRegistry only for wasm-made closures, which the SDK has none of
// since its timer moved to js/net.js; should one come back, its fallback is cut too.)
if (glue.includes('FinalizationRegistry')) {
  replaceOnce(`(typeof FinalizationRegistry === 'undefined')
        ? { register: () => {}, unregister: () => {} }
        : new FinalizationRegistry(`, 'new FinalizationRegistry(', 'the FinalizationRegistry fallback');
}
// wasm-bindgen reads a string as its bytes' view (`decodeText`) beside a byte view of its own
// (`getArrayU8FromWasm0`, whose `ptr / 1` is its generic element-size division); the one view,
// without the division, serves both (−21 bytes gzip).
replaceOnce('        return getUint8ArrayMemory0().subarray(ptr / 1, ptr / 1 + len);',
  '        return getUint8ArrayMemory0().subarray(ptr, ptr + len);', 'the byte view');
replaceOnce(`    function getStringFromWasm0(ptr, len) {
        return decodeText(ptr >>> 0, len);
    }`, `    function getStringFromWasm0(ptr, len) {
        return cachedTextDecoder.decode(getArrayU8FromWasm0(ptr, len));
    }`, 'the string reader');
replaceOnce(`    function decodeText(ptr, len) {
        return cachedTextDecoder.decode(getUint8ArrayMemory0().subarray(ptr, ptr + len));
    }
`, '', 'decodeText');
if (glue.includes('decodeText')) fail('decodeText is still used');
// Safari 16 to 18.4: a TextDecoder that has decoded 2 GiB in all throws a RangeError from then on
// (WebKit bug 280593, fixed in 18.5). wasm-bindgen renews its decoder before that for its web and
// bundler targets (issue 4471), not for no-modules: here, a tab open for days (a shop's kiosk; a
// queue re-written through an outage) would find every string from the wasm failing, the SDK's
// calls with them. The string reader takes a new decoder when one throws and reads again (a
// second failure is thrown as before).
replaceOnce(`    function getStringFromWasm0(ptr, len) {
        return cachedTextDecoder.decode(getArrayU8FromWasm0(ptr, len));
    }`, `    function getStringFromWasm0(ptr, len) {
        try {
            return cachedTextDecoder.decode(getArrayU8FromWasm0(ptr, len));
        } catch (e) {
            cachedTextDecoder = new TextDecoder();
            return cachedTextDecoder.decode(getArrayU8FromWasm0(ptr, len));
        }
    }`, 'the string reader, for Safari');
// The import object's and the namespace's null prototypes: the glue's objects are looked up by
// their own keys only (every import the wasm names is there), so the prototype is never
// consulted (−11 bytes gzip).
for (const [text, what] of [
  ['        const import0 = {\n            __proto__: null,\n', 'the imports'],
  ['        return {\n            __proto__: null,\n', 'the import modules'],
  ['})({ __proto__: null });', 'the namespace'],
]) replaceOnce(text, text.replace(/ *__proto__: null,\n|\{ __proto__: null \}/, (m) => m.startsWith('{') ? '{}' : ''), what);
if (glue.includes('__proto__')) fail('a __proto__ is still set');
// The decoder with the defaults: wasm-bindgen's options keep a leading byte order mark
// (`ignoreBOM`) and throw on bytes that are not UTF-8 (`fatal`), and it decodes once at the start
// for a Safari 13 bug in the first of those; every string the SDK's wasm hands over starts with
// its own syntax (`{`, `[`, `,`, a digit, `fc:`, `funnelcake: `, a URL), never a byte order mark,
// and safe Rust writes only UTF-8 (−29 bytes gzip, which pay for the renewal above, +15).
replaceOnce(`    let cachedTextDecoder = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });
    cachedTextDecoder.decode();
`, `    let cachedTextDecoder = new TextDecoder();
`, 'the decoder');
// The table of JS values the wasm holds, 1,024 slots reserved up front and filled so the array
// is not holey: `fill()` with no value fills with `undefined` as `fill(undefined)` does, and
// `Array(n)` is `new Array(n)`.
replaceOnce('    let heap = new Array(1024).fill(undefined);\n', '    let heap = Array(1024).fill();\n', 'the heap table');
// The byte view of the wasm's memory, made again when there is none yet or the memory grew
// (which detaches the old one: length 0), both told by one truth test, so the cache may start
// out `undefined` rather than `null`. (The script keeps to
// ES2017 syntax, `--ecma 2017` in scripts/build.sh, so no `?.`: bundlers of the ES module such
// as webpack 4 parse nothing newer.)
replaceOnce('        if (cachedUint8ArrayMemory0 === null || cachedUint8ArrayMemory0.byteLength === 0) {\n',
  '        if (!(cachedUint8ArrayMemory0 && cachedUint8ArrayMemory0.byteLength)) {\n', 'the memory view');
replaceOnce('    let cachedUint8ArrayMemory0 = null;\n', '    let cachedUint8ArrayMemory0;\n', 'the memory view\'s cache');
writeFileSync(glueOut, glue);
console.log(`glue: ${map.imports.length} imports and ${map.exports.length} exports renamed, ${unread.length} unread removed (${unread.join(', ')}), initialiser replaced`);
