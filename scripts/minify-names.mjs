// Renames the wasm's imports, exports and import module to one or two letters and rewrites the
// wasm-bindgen glue to match. wasm-bindgen names each import `__wbg_<name>_<16 hex digits>`;
// those names appear once in the wasm and once in the glue, about 2.5 KB that gzip cannot
// compress (BENCHMARKS.md, size steps). Fails, rather than building a broken SDK, if any name
// it renames is not found exactly where expected in the glue.
//
//   node scripts/minify-names.mjs <in.wasm> <glue.js> <out.wasm> <out-glue.js>
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const [inWasm, glueIn, outWasm, glueOut] = process.argv.slice(2);
const features = ['--enable-bulk-memory', '--enable-nontrapping-float-to-int', '--enable-sign-ext', '--enable-mutable-globals'];
// wasm-opt prints the renaming as JSON: {"imports": [[module, old, new], …], "exports": [[old, new], …]}.
const map = JSON.parse(execFileSync('wasm-opt', [...features, '--minify-imports-and-exports-and-modules', inWasm, '-o', outWasm], { encoding: 'utf8' }));
let glue = readFileSync(glueIn, 'utf8');

function fail(msg) {
  console.error(`minify-names: ${msg}`);
  process.exit(1);
}

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

// Imports: each is one `name: function` member of the glue's import object.
for (const [, from, to] of map.imports) {
  const key = new RegExp(`(^|[\\s{,])${from}(\\s*:)`, 'g');
  const found = glue.match(key)?.length ?? 0;
  if (found !== 1) fail(`import ${from} found ${found} times in the glue`);
  glue = glue.replace(key, `$1${JSON.stringify(to)}$2`);
}

// Exports: the glue reads them as `wasm.<name>`; every such read must be renamed.
const exportsMap = new Map(map.exports);
glue = glue.replace(/\bwasm\.([A-Za-z_$][\w$]*)/g, (all, name) => {
  if (!exportsMap.has(name)) fail(`the glue reads wasm.${name}, which the wasm does not export`);
  return `wasm[${JSON.stringify(exportsMap.get(name))}]`;
});
writeFileSync(glueOut, glue);
console.log(`minify-names: ${map.imports.length} imports and ${map.exports.length} exports renamed`);
