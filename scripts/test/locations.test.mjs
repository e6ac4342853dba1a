// scripts/locations.mjs on small modules written in the text format, with data laid out as rustc
// lays out panic locations and their source paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clearLocations, codeNumbers, dataSegments } from '../locations.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
process.env.PATH = `${join(root, 'node_modules/.bin')}:${process.env.PATH}`;
const dir = mkdtempSync(join(tmpdir(), 'locations-'));

/** Data as a text-format string: `parts` are strings (bytes as they are) and numbers (u32 LE). */
function bytes(...parts) {
  const out = [];
  for (const p of parts) {
    if (typeof p === 'number') for (let k = 0; k < 4; k++) out.push((p >>> (8 * k)) & 0xff);
    else for (const ch of p) out.push(ch.charCodeAt(0));
  }
  return out.map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('');
}

/** Assembles `wat`, runs the step on it in place; returns the result, the old and new data at 1024.. */
function run(wat) {
  const path = join(dir, 'm.wasm');
  writeFileSync(join(dir, 'm.wat'), wat);
  execFileSync('wasm-as', [join(dir, 'm.wat'), '-o', path]);
  const before = readFileSync(path);
  const wasm = Buffer.from(before);
  const result = clearLocations(wasm, codeNumbers(execFileSync('wasm-dis', [path], { encoding: 'utf8' })));
  const memory = (buf) => {
    const mem = Buffer.alloc(512);
    for (const s of dataSegments(buf)) buf.copy(mem, s.addr - 1024, s.at, s.at + s.size);
    return mem;
  };
  return { result, before: memory(before), after: memory(wasm), wasm };
}

const zero = (mem, from, n) => mem.subarray(from, from + n).every((b) => b === 0);
const same = (a, b, from, n) => a.subarray(from, from + n).equals(b.subarray(from, from + n));

// 1024: "src/a.rs\0" (9), 1033: "src/b.rs\0" (9), 1042: "hello" (5), 1048: four records of
// 16 bytes, 1112: a table pointing at the third record, 1116: a (ptr, len) pair of "hello".
const layout = (code) => `(module
 (memory (export "memory") 1)
 (data (i32.const 1024) "${bytes(
   'src/a.rs\0', 'src/b.rs\0', 'hello', '\0',
   1024, 8, 12, 5, //   1048: a.rs:12:5, nothing refers to it
   1033, 8, 40, 9, //   1064: b.rs:40:9, the code passes it
   1033, 8, 41, 3, //   1080: b.rs:41:3, the code does not (b.rs stays for 1064)
   1042, 5, 0, 0, //    1096: "hello", line 0: not a location
   1096, 1042, 5,
 )}")
 ${code})`;

test('an unused location and a path only unused locations name are zeroed; used ones stay', () => {
  const { result, before, after, wasm } = run(layout(`
 (func (export "loc") (result i32) (i32.const 1064))
 (func (export "hello") (result i32) (i32.load offset=1116 (i32.const 0)))`));
  assert.deepEqual(result, { locations: 2, found: 3, paths: 1, bytes: 4 + 5 + 8 }); // the bytes that were not zero
  assert.ok(zero(after, 24, 16), 'a.rs:12:5 cleared');
  assert.ok(zero(after, 0, 9), 'src/a.rs cleared');
  assert.ok(same(before, after, 40, 16), 'b.rs:40:9 kept: the code refers to it');
  assert.ok(zero(after, 56, 16), 'b.rs:41:3 cleared');
  assert.ok(same(before, after, 9, 9), 'src/b.rs kept: a kept location names it');
  assert.ok(same(before, after, 72, 28), 'the rest of the data as it was');
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(wasm));
  assert.equal(exports.loc(), 1064);
  assert.equal(exports.hello(), 1042);
});

test('a location the data refers to stays, and so does its path', () => {
  const { result, before, after } = run(layout(`
 (func (export "table") (result i32) (i32.load offset=1112 (i32.const 0)))`).replace(
    bytes(1096, 1042, 5),
    bytes(1080, 1042, 5),
  ));
  // 1064 is now unreferenced too; 1080 is named by the table at 1112.
  assert.equal(result.locations, 2);
  assert.ok(same(before, after, 56, 16), 'b.rs:41:3 kept: the table points at it');
  assert.ok(same(before, after, 9, 9), 'src/b.rs kept');
  assert.ok(zero(after, 40, 16) && zero(after, 24, 16) && zero(after, 0, 9));
});

test('a path the code reads into is kept, with no locations cleared that would break it', () => {
  const { result, before, after } = run(layout(`
 (func (export "ch") (result i32) (i32.load8_u offset=1028 (i32.const 0)))
 (func (export "loc") (result i32) (i32.const 1064))`));
  assert.equal(result.paths, 0);
  assert.ok(same(before, after, 0, 18), 'both paths kept');
  assert.ok(zero(after, 24, 16), 'the unused location itself is still cleared');
});

test('i64 constants count as two addresses', () => {
  const { result } = run(layout(`
 (func (export "pair") (result i64) (i64.const ${(8n << 32n) | 1048n}))
 (func (export "loc") (result i32) (i32.const 1064))`));
  assert.equal(result.locations, 1, 'only b.rs:41:3: 1048 is in the i64 constant');
});

test('a record whose column the segment trimmed (zeros after the segment) is still read', () => {
  const { result, after } = run(`(module
 (memory 1)
 (data (i32.const 1024) "${bytes('src/c.rs\0', '\0\0\0', 1024, 8, 7)}\\02")
 (func (export "f") (result i32) (i32.const 0)))`);
  assert.deepEqual([result.locations, result.paths], [1, 1]);
  assert.ok(zero(after, 0, 25));
});
