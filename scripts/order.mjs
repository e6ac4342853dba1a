// Reorders the wasm's functions so that gzip compresses it better, in place.
//
// gzip finds repeats only within the last 32 KB it has read, and the code section is about
// 80 KB: which functions sit near each other decides what it can reuse. The linker's order
// follows the source; a random order was 450–560 bytes larger and one by size 373 smaller.
// Here the order is built greedily: starting from the smallest function, the next is the one
// that deflate encodes smallest, with the 32 KB placed before it as its dictionary, relative to
// what it encodes to alone (what the functions before it save it, as a share); then single
// functions are moved a few places where that shrinks the whole (BENCHMARKS.md, size steps).
//
// The functions are reordered in binaryen's text form, where calls, the table and the exports
// name functions rather than number them, and assembled again: the module's behaviour does not
// change, only the index each function has. The result is kept only if it compresses smaller.
//
// In the same pass, the table's entries for functions that only trap (`unreachable`: the panic
// path scripts/panics.mjs stubbed, and what wasm-opt reduced to it, such as wasm-bindgen's
// closure shims, which the SDK has no closures for) all name the first of them, so the next
// `wasm-opt` drops the others. A call through such an entry trapped and still traps (on the
// signature check, where the types differ, instead of on `unreachable`).
//
//   node scripts/order.mjs <file.wasm> [moves]
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync, gzipSync } from 'node:zlib';
import { features, leb, sections } from './wasm.mjs';

const WINDOW = 32768; // deflate's window

function fail(msg) {
  throw new Error(`order: ${msg}`);
}

/** The function bodies of a wasm binary, in index order (code section, id 10). */
export function bodies(bytes) {
  const out = [];
  for (const s of sections(bytes)) {
    if (s.id !== 10) continue;
    const at = { p: s.body };
    for (let n = leb(bytes, at); n > 0; n--) {
      const len = leb(bytes, at);
      out.push(bytes.subarray(at.p, at.p + len));
      at.p += len;
    }
  }
  return out;
}

/** The greedy order of `funcs` (byte arrays): indices into it. */
export function greedyOrder(funcs) {
  const cost = (f, dict) => deflateRawSync(f, { level: 9, ...(dict.length ? { dictionary: dict } : {}) }).length;
  const alone = funcs.map((f) => cost(f, []));
  const left = new Set(funcs.keys());
  const order = [];
  let window = Buffer.alloc(0);
  let next = [...left].sort((a, b) => funcs[a].length - funcs[b].length || a - b)[0];
  while (next !== undefined) {
    left.delete(next);
    order.push(next);
    window = Buffer.concat([window, funcs[next]]);
    if (window.length > WINDOW) window = window.subarray(window.length - WINDOW);
    next = undefined;
    let best = Infinity;
    for (const c of left) {
      const r = cost(funcs[c], window) / alone[c];
      if (r < best) { best = r; next = c; }
    }
  }
  return order;
}

// How far `refine` tries moving each function, in places (earlier and later), by default.
export const MOVES = [1, 2, 3, 5, 10, 20, 40, 100];

/**
 * `order` improved by moving single functions: each is tried 1 to 100 places earlier and later
 * (`moves`), and a move is kept when deflate of all the bodies in the new order is smaller; then
 * again over the new order, up to `passes` times or until no move pays. The greedy order looks
 * only backwards from each function; this sees both sides (one pass with moves of 1, 3, 10 and
 * 40: −77 bytes gzip, 7 s; moves of 1 to 100 and up to three passes: −94 more on the build they
 * were adopted on, −170 to −270 on other builds of that session, 25–35 s).
 */
export function refine(funcs, order, passes = 3, moves = MOVES) {
  const deltas = moves.flatMap((d) => [-d, d]);
  const size = (o) => deflateRawSync(Buffer.concat(o.map((i) => funcs[i])), { level: 9 }).length;
  let best = size(order);
  for (let pass = 0; pass < passes; pass++) {
    const before = best;
    for (let i = 0; i < order.length; i++) {
      for (const d of deltas) {
        const j = i + d;
        if (j < 0 || j >= order.length) continue;
        const moved = [...order];
        moved.splice(j, 0, ...moved.splice(i, 1));
        const s = size(moved);
        if (s < best) { best = s; order = moved; }
      }
    }
    if (best === before) break;
  }
  return order;
}

/** Binaryen's text of a module split into what precedes the functions, each function, and the rest. */
export function splitText(text) {
  const lines = text.split('\n');
  const head = [], funcs = [], tail = [];
  let current = null;
  for (const line of lines) {
    if (line.startsWith(' (func ')) { current = [line]; funcs.push(current); continue; }
    if (line.startsWith(' (') || line.startsWith('(module') || line === ')' || line === '') { current = null; (funcs.length ? tail : head).push(line); continue; }
    if (!current) fail(`unexpected line outside a function: ${line.slice(0, 60)}`);
    current.push(line);
  }
  return { head, funcs, tail };
}

/**
 * The `(elem …)` line of `head` with every function of `funcs` that only traps replaced by the
 * first such one it lists; `{ head, shared }` (how many entries were redirected).
 */
export function shareTraps(head, funcs) {
  const traps = new Set();
  for (const f of funcs) {
    if (f.length === 3 && f[1] === '  (unreachable)' && f[2] === ' )') traps.add(f[0].split(' ')[2]);
  }
  let shared = 0;
  const out = head.map((line) => {
    if (!line.startsWith(' (elem ')) return line;
    // ` (elem $name (i32.const offset) $f $g …)`: the segment's own name is not an entry.
    const m = /^( \(elem \S+ \(i32\.const \d+\) )(\$[^ ()]+(?: \$[^ ()]+)*)\)$/.exec(line);
    if (!m) fail(`table entries not understood: ${line.slice(0, 60)}`);
    const entries = m[2].split(' ');
    const first = entries.find((f) => traps.has(f));
    return m[1] + entries.map((f) => (traps.has(f) && f !== first ? (shared++, first) : f)).join(' ') + ')';
  });
  return { head: out, shared };
}

/**
 * `bytes` (a wasm module) with its functions in the order `greedyOrder` then `refine` give, and
 * that order. Fails if the module loses a section on the way (binaryen's text has no place for
 * custom sections other than names: the shipped wasm has none by then).
 */
export function reorder(bytes, moves = MOVES) {
  const dir = mkdtempSync(join(tmpdir(), 'fc-order-'));
  try {
    const input = join(dir, 'in.wasm'), wat = join(dir, 'in.wat'), out = join(dir, 'out.wasm');
    writeFileSync(input, bytes);
    execFileSync('wasm-dis', [...features, input, '-o', wat]);
    const { head, funcs, tail } = splitText(readFileSync(wat, 'utf8'));
    const code = bodies(bytes);
    if (code.length !== funcs.length) fail(`${code.length} bodies in the binary, ${funcs.length} functions in its text`);
    const order = refine(code, greedyOrder(code), 3, moves);
    const traps = shareTraps(head, funcs);
    writeFileSync(wat, [...traps.head, ...order.flatMap((i) => funcs[i]), ...tail].join('\n'));
    execFileSync('wasm-as', [...features, wat, '-o', out]);
    const result = readFileSync(out);
    if (bodies(result).length !== code.length) fail('function count changed');
    const ids = (b) => sections(b).map((s) => s.id).join(',');
    if (ids(result) !== ids(bytes)) fail(`sections ${ids(bytes)} became ${ids(result)}`);
    return { bytes: result, order, shared: traps.shared };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, moves] = process.argv.slice(2);
  if (!file) fail('usage: node scripts/order.mjs <file.wasm> [moves, e.g. 1,2,3,5,10,20,40,100]');
  const input = readFileSync(file);
  const { bytes, order, shared } = reorder(input, moves ? moves.split(',').map(Number) : MOVES);
  const gz = (b) => gzipSync(b, { level: 9 }).length;
  const before = gz(input), after = gz(bytes);
  if (after < before) writeFileSync(file, bytes);
  console.log(`order: ${order.length} functions reordered, ${shared} table entries of trapping functions shared, ${before} -> ${after} bytes gzip${after < before ? '' : ' (not kept)'}`);
}
