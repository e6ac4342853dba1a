// Zeroes the panic locations the shipped wasm no longer uses, and the source paths they name.
//
// Each `unwrap`, index and `RefCell` borrow that can panic passes a `core::panic::Location`
// record to the panic entry point: 16 bytes of read-only data (the source file as pointer and
// length, the line, the column), and the file's path, NUL-terminated. scripts/panics.mjs makes
// every panic entry point `unreachable` and `wasm-opt` then drops the call's arguments, so no
// code refers to these records any more, but the linker laid them out in the middle of the
// read-only data, between tables the SDK does read, so they stay: about 800 bytes raw.
//
// A record is cleared only if it has the shape of a location (4-byte aligned; a pointer and
// length naming a NUL-terminated `.rs` path inside the data; a line and a column in range)
// and nothing in the optimised module refers to it: no constant or load/store offset in the
// code (i64 constants are read as two halves) falls in its 16 bytes, and no four bytes of the
// data at any alignment outside the cleared records name an address in it. A path is cleared
// when the same holds for each of its bytes and its NUL. Cleared bytes become zeros, which
// `wasm-opt`'s memory packing can then cut out of the segments. The step only zeroes: no data
// moves, so no address the code holds changes.
//
//   node scripts/locations.mjs <module.wasm>   (rewritten in place)
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { features, leb, sections } from './wasm.mjs';

/** Active data segments of memory 0 as `{ addr, at, size }` (address, file offset, length). */
export function dataSegments(wasm) {
  const data = sections(wasm).find((s) => s.id === 11);
  if (!data) return [];
  const at = { p: data.body };
  const out = [];
  for (let n = leb(wasm, at); n > 0; n--) {
    const flags = leb(wasm, at);
    if (flags === 1) {
      const size = leb(wasm, at);
      at.p += size;
      continue;
    }
    if (flags === 2) leb(wasm, at);
    if (flags !== 0 && flags !== 2) throw new Error(`data segment flags ${flags} not understood`);
    if (wasm[at.p++] !== 0x41) throw new Error('data segment offset is not an i32.const');
    let addr = 0, shift = 0, byte;
    do {
      byte = wasm[at.p++];
      addr |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80);
    if (wasm[at.p++] !== 0x0b) throw new Error('data segment offset is not a constant');
    const size = leb(wasm, at);
    out.push({ addr, at: at.p, size });
    at.p += size;
  }
  return out;
}

/** Every number the module could use as an address (constants and memory offsets in its code and globals), from binaryen's text. */
export function codeNumbers(text) {
  const out = new Set();
  // Not the data segments' own offsets: they are where the data starts, not uses of it.
  const code = text.replace(/^ \(data .*$/gm, '');
  for (const m of code.matchAll(/\b(i32\.const|i64\.const|offset=)\s*(-?\d+)/g)) {
    if (m[1] === 'i64.const') {
      const v = BigInt.asUintN(64, BigInt(m[2]));
      out.add(Number(v & 0xffffffffn)).add(Number(v >> 32n));
    } else {
      out.add(Number(m[2]) >>> 0);
    }
  }
  return out;
}

const PATH = /^[\w.\/-]+\.rs$/;

/**
 * Finds the unused locations and paths in `wasm` (a Buffer) given the numbers its code uses
 * (`codeNumbers`), and zeroes them in place. Returns `{ locations, paths, bytes }`.
 */
export function clearLocations(wasm, numbers) {
  const segs = dataSegments(wasm);
  const fileOf = (addr) => {
    for (const s of segs) if (addr >= s.addr && addr < s.addr + s.size) return s.at + addr - s.addr;
    return -1;
  };
  // Bytes between segments read as the zeros they start as (`wasm-opt` trims zeros at a
  // segment's ends, which can cut into a record's column); the record must start in a segment.
  const byte = (addr) => {
    const f = fileOf(addr);
    return f >= 0 ? wasm[f] : 0;
  };
  const u32 = (addr) => (byte(addr) | (byte(addr + 1) << 8) | (byte(addr + 2) << 16) | (byte(addr + 3) << 24)) >>> 0;
  // Location-shaped records.
  const records = [];
  for (const s of segs) {
    for (let addr = s.addr + ((4 - (s.addr % 4)) % 4); addr + 4 <= s.addr + s.size; addr += 4) {
      const [ptr, len, line, col] = [0, 4, 8, 12].map((k) => u32(addr + k));
      if (len < 4 || len > 300 || line < 1 || line > 1e6 || col < 1 || col > 1e4) continue;
      if (fileOf(ptr) < 0 || fileOf(ptr + len) < 0 || byte(ptr + len) !== 0) continue;
      const f = fileOf(ptr);
      if (fileOf(ptr + len - 1) !== f + len - 1) continue;
      if (!PATH.test(wasm.toString('latin1', f, f + len))) continue;
      records.push({ addr, ptr, len });
    }
  }
  // What points into the data: every four bytes of it, at each alignment, outside `skip`.
  const pointers = (skip) => {
    const out = new Map();
    for (const s of segs) {
      for (let addr = s.addr; addr + 4 <= s.addr + s.size; addr++) {
        if (skip(addr)) continue;
        const v = wasm.readUInt32LE(s.at + addr - s.addr);
        out.set(v, (out.get(v) ?? 0) + 1);
      }
    }
    return out;
  };
  const usedByCode = (from, to) => {
    for (let a = from; a <= to; a++) if (numbers.has(a)) return true;
    return false;
  };
  const inRecord = (set) => (addr) => set.some((r) => addr >= r.addr && addr < r.addr + 16);
  // Records nothing refers to (a record's own words do not keep another record).
  const others = pointers(inRecord(records));
  const unused = records.filter((r) => !usedByCode(r.addr, r.addr + 15) && ![...Array(16).keys()].some((k) => others.has(r.addr + k)));
  // Paths only the unused records name: every reference to their bytes is an unused record's pointer.
  const withoutUnused = pointers(inRecord(unused));
  const paths = new Map();
  for (const r of unused) paths.set(r.ptr, r.len);
  const clearPaths = [...paths].filter(([ptr, len]) => {
    if (usedByCode(ptr, ptr + len)) return false;
    for (let a = ptr; a <= ptr + len; a++) if (withoutUnused.has(a)) return false;
    return true;
  });
  let bytes = 0;
  const zero = (addr, n) => {
    for (let a = addr; a < addr + n; a++) {
      const f = fileOf(a);
      if (f >= 0 && wasm[f] !== 0) {
        wasm[f] = 0;
        bytes++;
      }
    }
  };
  for (const r of unused) zero(r.addr, 16);
  for (const [ptr, len] of clearPaths) zero(ptr, len + 1);
  return { locations: unused.length, found: records.length, paths: clearPaths.length, bytes };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [path] = process.argv.slice(2);
  try {
    const wasm = readFileSync(path);
    const text = execFileSync('wasm-dis', [...features, path], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const r = clearLocations(wasm, codeNumbers(text));
    writeFileSync(path, wasm);
    console.log(`locations: ${r.locations} of ${r.found} panic locations and ${r.paths} source paths cleared (${r.bytes} bytes)`);
  } catch (e) {
    console.error(`locations: ${e.message}`);
    process.exit(1);
  }
}
