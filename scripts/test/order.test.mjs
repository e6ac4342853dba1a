// scripts/order.mjs on a small module written in the text format: the functions change places,
// the module computes what it did (direct calls, calls through the table, an import, exports).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { bodies, greedyOrder, refine, reorder, shareTraps, splitText } from '../order.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
process.env.PATH = `${join(root, 'node_modules/.bin')}:${process.env.PATH}`;
const dir = mkdtempSync(join(tmpdir(), 'order-'));

const wat = `(module
 (type $t (func (param i32) (result i32)))
 (import "env" "twice" (func $twice (param i32) (result i32)))
 (table 2 funcref)
 (elem (i32.const 0) $square $inc)
 (func $big (export "big") (param $x i32) (result i32)
  (i32.add
   (i32.add (call $square (local.get $x)) (call $inc (local.get $x)))
   (i32.add (call $twice (local.get $x)) (call_indirect (type $t) (local.get $x) (i32.and (local.get $x) (i32.const 1))))))
 (func $square (param $x i32) (result i32) (i32.mul (local.get $x) (local.get $x)))
 (func $mid (export "mid") (param $x i32) (result i32)
  (call $big (i32.sub (call $square (local.get $x)) (i32.const 3))))
 (func $inc (export "inc") (param $x i32) (result i32) (i32.add (local.get $x) (i32.const 1)))
)`;

function assemble() {
  writeFileSync(join(dir, 'm.wat'), wat);
  execFileSync('wasm-as', [join(dir, 'm.wat'), '-o', join(dir, 'm.wasm')]);
  return readFileSync(join(dir, 'm.wasm'));
}

async function exportsOf(bytes) {
  const { instance } = await WebAssembly.instantiate(bytes, { env: { twice: (x) => 2 * x } });
  return instance.exports;
}

test('bodies reads each function body of the code section, in index order', () => {
  const code = bodies(assemble());
  assert.equal(code.length, 4);
  // $inc's body is the smallest: no locals, local.get, i32.const 1, i32.add, end.
  assert.deepEqual([...code[3]], [0x00, 0x20, 0x00, 0x41, 0x01, 0x6a, 0x0b]);
});

test('greedyOrder is a permutation that starts from the smallest body (the first of equals)', () => {
  const code = bodies(assemble());
  const order = greedyOrder(code);
  assert.deepEqual([...order].sort(), [0, 1, 2, 3]);
  // $square and $inc are 7 bytes each; $square comes first.
  assert.equal(order[0], 1);
});

test('greedyOrder next takes the body the ones before it save the largest share of, not the most compressible', () => {
  // `seed` (the smallest) is 40 varied bytes; `copies` is it 20 times over, which the seed before
  // it saves most of; `zeros` compresses best of all, alone as after anything.
  const seed = Buffer.from(Array.from({ length: 40 }, (_, i) => (i * 97 + 13) % 251));
  const copies = Buffer.concat(Array(20).fill(seed));
  const zeros = Buffer.alloc(2000);
  const order = greedyOrder([zeros, copies, seed]);
  assert.deepEqual(order, [2, 1, 0]);
});

test('the reordered module computes what the original did', async () => {
  const original = assemble();
  const { bytes, order } = reorder(original);
  assert.notDeepEqual(order, [0, 1, 2, 3]);
  const reordered = bodies(bytes);
  // Each body moved to its new place (the calls in it renumbered, so compared by length).
  assert.deepEqual(reordered.map((b) => b.length), order.map((i) => bodies(original)[i].length));
  const [a, b] = [await exportsOf(original), await exportsOf(bytes)];
  for (const x of [0, 1, 2, 7, 100]) {
    assert.equal(b.big(x), a.big(x));
    assert.equal(b.mid(x), a.mid(x));
    assert.equal(b.inc(x), a.inc(x));
  }
  assert.equal(a.big(3), 9 + 4 + 6 + 4); // odd: the table's second entry, $inc
  assert.equal(a.big(2), 4 + 3 + 4 + 4); // even: the first, $square
});

test('refine keeps a permutation and moves a body next to its look-alike beyond the 32 KB window', () => {
  // x and its copy x2 (one byte changed) are 20 KB of noise each, with 20 KB of other noise, y,
  // between them: x2 starts 40 KB after x, out of deflate's reach. Moved next to x, it costs
  // next to nothing.
  let seed = 7;
  const noise = (n) => Buffer.from(Array.from({ length: n }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24));
  const x = noise(20000), y = noise(20000), x2 = Buffer.from(x);
  x2[100] ^= 1;
  const funcs = [x, y, x2];
  const size = (o) => deflateRawSync(Buffer.concat(o.map((i) => funcs[i])), { level: 9 }).length;
  const refined = refine(funcs, [0, 1, 2]);
  assert.deepEqual([...refined].sort(), [0, 1, 2]);
  assert.equal(Math.abs(refined.indexOf(0) - refined.indexOf(2)), 1);
  assert.ok(size(refined) < 0.75 * size([0, 1, 2]));
});

test('a section the text form cannot carry fails the step rather than being dropped', () => {
  // A custom section "x" holding one byte: id 0, size 3, name length 1, "x", 0x2a.
  const withCustom = Buffer.concat([assemble(), Buffer.from([0, 3, 1, 0x78, 0x2a])]);
  assert.throws(() => reorder(withCustom), /order: sections .* became/);
});

test('table entries of functions that only trap name the first of them; the others stay as they were', async () => {
  const traps = `(module
 (type $i (func (param i32) (result i32)))
 (type $v (func))
 (table 5 funcref)
 (elem (i32.const 0) $inc $trapA $trapB $trapA $trapB)
 (func $inc (param $x i32) (result i32) (i32.add (local.get $x) (i32.const 1)))
 (func $trapA (param $x i32) (result i32) (unreachable))
 (func $trapB (unreachable))
 (func $call (export "call") (param $i i32) (param $x i32) (result i32)
  (call_indirect (type $i) (local.get $x) (local.get $i)))
)`;
  writeFileSync(join(dir, 't.wat'), traps);
  execFileSync('wasm-as', [join(dir, 't.wat'), '-o', join(dir, 't.wasm')]);
  execFileSync('wasm-dis', [join(dir, 't.wasm'), '-o', join(dir, 't2.wat')]);
  const { head, funcs } = splitText(readFileSync(join(dir, 't2.wat'), 'utf8'));
  const { head: shared, shared: count } = shareTraps(head, funcs);
  // Binaryen numbers the segment, the functions and the types from $0 alike: ` (elem $0 (i32.const 0) $0 $1 $2 $1)`.
  const elem = (h) => h.find((l) => l.startsWith(' (elem ')).replace(/\)$/, '').split(') ')[1].split(' ');
  const [inc, a, b] = elem(head);
  assert.deepEqual(elem(head), [inc, a, b, a, b]);
  assert.deepEqual(elem(shared), [inc, a, a, a, a], 'the last entry too');
  assert.equal(count, 2);
  assert.throws(() => shareTraps([' (elem $0 (i32.const 0) func $1)'], funcs), /table entries not understood/);
  // Reordered and shared, the module still computes through the table, and each trap still traps.
  const { bytes, shared: inModule } = reorder(readFileSync(join(dir, 't.wasm')));
  assert.equal(inModule, 2);
  const { instance } = await WebAssembly.instantiate(bytes);
  assert.equal(instance.exports.call(0, 41), 42);
  for (const i of [1, 2, 3, 4]) assert.throws(() => instance.exports.call(i, 0), WebAssembly.RuntimeError);
});
