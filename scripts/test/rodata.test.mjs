// scripts/rodata.mjs on small modules written in the text format, given the symbol table and
// relocations a linker run with `--emit-relocs` would add.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkSameData, clearUnused, codeNumbers, dataObjects, dataSegments, memory as layout, stackTop } from '../rodata.mjs';
import { sections, uleb as ulebBytes } from '../wasm.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
process.env.PATH = `${join(root, 'node_modules/.bin')}:${process.env.PATH}`;
const dir = mkdtempSync(join(tmpdir(), 'rodata-'));

const uleb = (n) => [...ulebBytes(n)];
const sleb = (n) => {
  const out = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
};
const str = (s) => [...uleb(s.length), ...Buffer.from(s)];
const custom = (name, payload) => [0, ...uleb(str(name).length + payload.length), ...str(name), ...payload];

/** Bytes as a text-format string: strings as they are, numbers as u32 little-endian. */
function bytes(...parts) {
  const out = [];
  for (const p of parts) {
    if (typeof p === 'number') for (let k = 0; k < 4; k++) out.push((p >>> (8 * k)) & 0xff);
    else for (const ch of p) out.push(ch.charCodeAt(0));
  }
  return out.map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('');
}

/**
 * `objects` are [name, segment, offset, size]; `relocs` are [symbol index, addend]. Segment 0 is
 * `.rodata` at 1024, segment 1 is `.data` at 2048. Returns the linker's output (with its symbol
 * table and relocations), the module as shipped (without them), and the data at 1024.. of both
 * after the step ran on the shipped one.
 */
function run({ rodata, data = '', code, objects, relocs = [], dataRelocs = [], top }) {
  writeFileSync(join(dir, 'm.wat'), `(module
 (memory (export "memory") 1)
 (data (i32.const 1024) "${rodata}")
 (data (i32.const 2048) "${data}")
 ${code})`);
  execFileSync('wasm-as', [join(dir, 'm.wat'), '-o', join(dir, 'm.wasm')]);
  const shipped = readFileSync(join(dir, 'm.wasm'));
  const segments = [5, ...(() => { const p = [...uleb(2), ...str('.rodata'), 0, 0, ...str('.data'), 0, 0]; return [...uleb(p.length), ...p]; })()];
  const syms = objects.flatMap(([name, seg, offset, size]) => [1, 0, ...str(name), ...uleb(seg), ...uleb(offset), ...uleb(size)]);
  const table = [8, ...uleb(uleb(objects.length).length + syms.length), ...uleb(objects.length), ...syms];
  const reloc = [...uleb(10), ...uleb(relocs.length), ...relocs.flatMap(([index, addend], k) => [4, ...uleb(k), ...uleb(index), ...sleb(addend)])];
  // reloc.DATA: [symbol index, address of the site], each an R_WASM_MEMORY_ADDR_I32 (5) at its
  // offset into the data section's contents.
  const dataIndex = sections(shipped).findIndex((s) => s.id === 11);
  const dataBody = sections(shipped)[dataIndex].body;
  const { fileOf } = layout(shipped);
  const dataReloc = [...uleb(dataIndex), ...uleb(dataRelocs.length), ...dataRelocs.flatMap(([index, addr]) => [5, ...uleb(fileOf(addr) - dataBody), ...uleb(index), ...sleb(0)])];
  const linked = Buffer.concat([shipped, Buffer.from(custom('linking', [2, ...segments, ...table])), Buffer.from(custom('reloc.CODE', reloc)), Buffer.from(custom('reloc.DATA', dataReloc))]);
  const after = Buffer.from(shipped);
  const all = dataObjects(linked);
  checkSameData(linked, after, all);
  const result = clearUnused(after, all, codeNumbers(execFileSync('wasm-dis', [join(dir, 'm.wasm')], { encoding: 'utf8' }), top));
  const memory = (buf) => {
    const mem = Buffer.alloc(2048);
    for (const s of dataSegments(buf)) buf.copy(mem, s.addr - 1024, s.at, s.at + s.size);
    return mem;
  };
  return { result, linked, before: memory(shipped), after: memory(after), wasm: after };
}

const zero = (mem, from, n) => mem.subarray(from, from + n).every((b) => b === 0);
const same = (a, b, from, n) => a.subarray(from, from + n).equals(b.subarray(from, from + n));

// 1024 "used" (8), 1032 "message" (7), 1039 "path.rs" (7), 1046 pad, 1048 a location-like
// record naming path.rs (16), 1064 a table of two pointers: "named" and "byTable" (8),
// 1072 "named!" (6), 1078 "byTable" (7), 1085 "chain" (5).
const rodata = bytes('used....', 'message', 'path.rs', '\0\0', 1039, 7, 12, 5, 1072, 1078, 'named!', 'byTable', 'chain');
const objects = [
  ['used', 0, 0, 8],
  ['message', 0, 8, 7],
  ['path', 0, 15, 7],
  ['location', 0, 24, 16],
  ['table', 0, 40, 8],
  ['named', 0, 48, 6],
  ['byTable', 0, 54, 7],
  ['chain', 0, 61, 5],
];

test('read-only objects nothing refers to are zeroed, with what only they refer to; the rest stays', () => {
  const { result, before, after, wasm } = run({
    rodata,
    objects,
    code: `(func (export "used") (result i32) (i32.load offset=1028 (i32.const 0)))
 (func (export "table") (result i32) (i32.const 1064))`,
  });
  assert.deepEqual(result, { objects: 4, of: 8, bytes: 7 + 7 + 5 + 5 }); // bytes that were not zero
  assert.ok(same(before, after, 0, 8), 'used: the code reads it (an offset into it)');
  assert.ok(zero(after, 8, 7) && zero(after, 15, 7), 'the message and the path');
  assert.ok(zero(after, 24, 16), 'the record naming the path: nothing refers to it');
  assert.ok(same(before, after, 40, 21), 'the table and both strings it points at');
  assert.ok(zero(after, 61, 5), 'chain: its neighbour is used, but one past the end is not a use');
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(wasm));
  assert.equal(exports.used(), 0x2e2e2e2e);
});

test('an object a used one points at stays, down the chain; so does what writable data points at', () => {
  const { result, before, after } = run({
    rodata,
    data: bytes(1085),
    objects: [...objects, ['pointer', 1, 0, 4]],
    code: `(func (export "f") (result i32) (i32.const 1048))`,
  });
  assert.ok(same(before, after, 24, 16) && same(before, after, 15, 7), 'the record, and the path it names');
  assert.ok(same(before, after, 61, 5), 'chain: the writable pointer at 2048 names it');
  assert.ok(zero(after, 0, 15) && zero(after, 40, 21), 'the rest');
  assert.equal(result.objects, 5);
});

test('an address the compiler formed outside an object counts for it when a relocation says so', () => {
  const code = `(func (export "nth") (param i32) (result i32) (i32.load offset=1060 (i32.shl (local.get 0) (i32.const 2))))`;
  // 1060 = table - 4 (the table indexed from 1), inside the record before it.
  const without = run({ rodata, objects, code });
  assert.ok(zero(without.after, 40, 8), 'without the relocation the table looks unused');
  const withReloc = run({ rodata, objects, code, relocs: [[4, -4]] });
  assert.ok(same(withReloc.before, withReloc.after, 40, 8), 'the relocation table-4 keeps it');
  assert.ok(same(withReloc.before, withReloc.after, 48, 13), 'and the strings it points at');
});

test("the stack pointer's start is not a use of the first object; another global's value is", () => {
  const code = `(global $sp (mut i32) (i32.const 1024)) (global $base i32 (i32.const 1032))
 (func (export "push") (global.set $sp (i32.sub (global.get $sp) (i32.const 16))))`;
  assert.equal(stackTop(' (global $__stack_pointer (mut i32) (i32.const 1024))\n'), 1024);
  assert.equal(stackTop(' (global $global$0 (mut i32) (i32.const 1024))\n'), undefined, 'named by the linker only');
  const kept = run({ rodata, objects, code });
  assert.ok(same(kept.before, kept.after, 0, 15), 'without the stack top: both globals count');
  const { before, after } = run({ rodata, objects, code, top: 1024 });
  assert.ok(zero(after, 0, 8), 'used: only the stack pointer starts there');
  assert.ok(same(before, after, 8, 7), 'message: an immutable global holds its address');
});

test('a live object is read at its aligned words, unless the linker shows it holding an address at another offset', () => {
  // 1024 "used": bytes 00 00 | 10 04 | 00 00 00 00: the word at 1026 reads 1040 (inside path.rs,
  // 1039..1045) by chance; at 1028, none.
  const odd = bytes('\0\0\x10\x04\0\0\0\0', 'message', 'path.rs', '\0\0', 1039, 7, 12, 5, 1072, 1078, 'named!', 'byTable', 'chain');
  const code = `(func (export "used") (result i32) (i32.load offset=1024 (i32.const 0)))`;
  const aligned = run({ rodata: odd, objects, code });
  assert.ok(zero(aligned.after, 15, 7), 'the chance address at 1026 is not a use of path.rs');
  assert.ok(same(aligned.before, aligned.after, 0, 8), 'used');
  const packed = run({ rodata: odd, objects, code, dataRelocs: [[2, 1026]] });
  assert.ok(same(packed.before, packed.after, 15, 7), 'the linker says 1026 holds an address: path.rs stays');
});

test('padding between objects is not read together with the next object\'s first bytes', () => {
  // The two bytes of padding at 1046 hold 10 04 and the record at 1048 starts 00 00: together,
  // 1040 (inside path.rs); a pointer the padding held would be four bytes of padding.
  const padded = bytes('used....', 'message', 'path.rs', '\x10\x04', 0, 7, 12, 5, 1072, 1078, 'named!', 'byTable', 'chain');
  const { after } = run({ rodata: padded, objects, code: `(func (export "f") (result i32) (i32.const 1048))` });
  assert.ok(zero(after, 15, 7), 'path.rs: nothing refers to it');
});

test('i64 constants count as two addresses', () => {
  const { after, before } = run({ rodata, objects, code: `(func (export "f") (result i64) (i64.const ${(1032n << 32n) | 1085n}))` });
  assert.ok(same(before, after, 8, 7) && same(before, after, 61, 5));
});

test('data that moved between the linker and the shipped module, or no symbol table, fail the step', () => {
  const { linked } = run({ rodata, objects, code: '' });
  const moved = Buffer.from(linked);
  const seg = dataSegments(moved)[0];
  moved[seg.at + 9] ^= 1;
  assert.throws(() => checkSameData(linked, moved, dataObjects(linked)), /message at 1032 differs/);
  writeFileSync(join(dir, 'plain.wat'), '(module (memory 1) (data (i32.const 1024) "x"))');
  execFileSync('wasm-as', [join(dir, 'plain.wat'), '-o', join(dir, 'plain.wasm')]);
  assert.throws(() => dataObjects(readFileSync(join(dir, 'plain.wasm'))), /no symbol table/);
});
