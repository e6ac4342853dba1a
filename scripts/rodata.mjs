// Zeroes the read-only data the shipped wasm no longer refers to.
//
// Once scripts/panics.mjs has made the panic path `unreachable` and `wasm-opt` has dropped what
// only it used, the code is gone but its data is not: the panic messages, the 16-byte
// `core::panic::Location` record each `unwrap`, index and borrow passes (file, line, column),
// the source paths those name, the integer formatting's digit table. The linker laid them out
// between tables the SDK does read, so no pass removes them: after the build, no address held
// anywhere in the module changes, and `wasm-opt` cannot tell one object from the next.
//
// The linker can: built with `--emit-relocs`, its output keeps a symbol table with each data
// object's segment, offset and size, and the relocations saying where the code and data use
// one (an address plus an addend). This step reads those from the linker's output and the
// shipped module's code, and marks live:
// - every object in a writable segment (`.data`, `.bss`), and every four bytes outside any object;
// - every object one of the code's numbers points at: each constant (an `i64` read as two
//   halves) and each load or store offset, in functions and globals (but the stack pointer's
//   start, below). An object's range is
//   widened by the addends the linker's relocations used for it, so an address the compiler
//   formed below or past an object (a table indexed from 1) still counts as a use of it;
// - every object four bytes of a live object point at, until none is added: its words at
//   multiples of 4, or at every offset in an object the linker's data relocations show holding
//   an address elsewhere (a packed struct).
// What is left of the read-only segments is zeroed in place (no data moves). The step fails if
// an object's bytes in the shipped module differ from the linker's, i.e. if the data moved.
//
//   node scripts/rodata.mjs <linker-output.wasm> <shipped.wasm>   (the second rewritten in place)
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { customName, features, leb, sections, sleb, text } from './wasm.mjs';

/** Active data segments of memory 0 as `{ addr, at, size }` (address, file offset, length). */
export function dataSegments(wasm) {
  const data = sections(wasm).find((s) => s.id === 11);
  if (!data) return [];
  const at = { p: data.body };
  const out = [];
  for (let n = leb(wasm, at); n > 0; n--) {
    const flags = leb(wasm, at);
    if (flags === 1) {
      at.p += leb(wasm, at);
      continue;
    }
    if (flags === 2) leb(wasm, at);
    if (flags !== 0 && flags !== 2) throw new Error(`data segment flags ${flags} not understood`);
    if (wasm[at.p++] !== 0x41) throw new Error('a data segment offset is not an i32.const');
    const addr = sleb(wasm, at);
    if (wasm[at.p++] !== 0x0b) throw new Error('a data segment offset is not a constant');
    const size = leb(wasm, at);
    out.push({ addr, at: at.p, size });
    at.p += size;
  }
  return out;
}

/**
 * The module's memory as its data segments set it up: `fileOf(addr)`, where the byte at `addr`
 * is in `wasm` (-1 outside every segment), and `byte(addr)` (0 outside every segment: the
 * memory starts zeroed, and `wasm-opt` trims the zeros at a segment's ends).
 */
export function memory(wasm) {
  const segs = dataSegments(wasm);
  const fileOf = (addr) => {
    for (const s of segs) if (addr >= s.addr && addr < s.addr + s.size) return s.at + addr - s.addr;
    return -1;
  };
  const byte = (addr) => {
    const f = fileOf(addr);
    return f >= 0 ? wasm[f] : 0;
  };
  return { segs, fileOf, byte };
}

/** Relocation types that carry an addend and name a memory address (the object format's numbering). */
const MEMORY_ADDR = new Set([3, 4, 5, 11, 14, 15, 16, 17, 21, 23, 25]);
const WITH_ADDEND = new Set([...MEMORY_ADDR, 8, 9, 22]);

/**
 * The linker's data objects, from its `linking` and `reloc.*` sections: `{ name, addr, size,
 * writable, lo, hi }`, where [lo, hi] are the addresses the code or data may form for it: its
 * own bytes, widened by the addends its relocations use (an address one past its end counts
 * only if the compiler formed one, as it then says so in a relocation; counting it always would
 * keep every object whose neighbour is used). Throws if the module has no symbol table.
 */
export function dataObjects(linked) {
  const all = sections(linked);
  const linking = all.find((s) => customName(linked, s) === 'linking');
  if (!linking) throw new Error('the linker output has no symbol table (link with -Clink-arg=--emit-relocs, as scripts/build.sh does)');
  const segs = dataSegments(linked);
  const at = { p: linking.body };
  text(linked, at);
  if (leb(linked, at) !== 2) throw new Error('linking section version not understood');
  let segNames = [];
  const symbols = [];
  while (at.p < linking.end) {
    const type = linked[at.p++];
    const end = leb(linked, at) + at.p;
    if (type === 5) {
      segNames = [];
      for (let n = leb(linked, at); n > 0; n--) {
        segNames.push(text(linked, at));
        leb(linked, at);
        leb(linked, at);
      }
    } else if (type === 8) {
      for (let n = leb(linked, at); n > 0; n--) {
        const kind = linked[at.p++];
        const flags = leb(linked, at);
        const undefined_ = flags & 0x10;
        if (kind === 1) {
          const name = text(linked, at);
          if (undefined_) symbols.push(null);
          else symbols.push({ name, seg: leb(linked, at), offset: leb(linked, at), size: leb(linked, at), absolute: flags & 0x200 });
        } else if (kind === 3) {
          leb(linked, at);
          symbols.push(null);
        } else {
          leb(linked, at);
          if (!undefined_ || flags & 0x40) text(linked, at);
          symbols.push(null);
        }
      }
    }
    at.p = end;
  }
  // The data section holds the segments in the segment table's order, `.bss` included or (when
  // the linker leaves the zeros to memory) not: a segment's address is its data section entry's.
  let stored = segNames.map((name, i) => ({ name, i }));
  if (stored.length !== segs.length) stored = stored.filter(({ name }) => !/^\.t?bss/.test(name));
  if (stored.length !== segs.length) throw new Error(`the linker output has ${segs.length} data segments for ${segNames.length} named ones`);
  const segAddr = new Map(stored.map(({ i }, k) => [i, segs[k].addr]));
  const objects = new Map();
  symbols.forEach((s, index) => {
    if (!s || s.absolute || !segAddr.has(s.seg)) return;
    const addr = segAddr.get(s.seg) + s.offset;
    const writable = !segNames[s.seg].startsWith('.rodata');
    objects.set(index, { name: s.name, addr, size: s.size, writable, lo: addr, hi: addr + Math.max(s.size - 1, 0) });
  });
  // Where the data holds an address (`reloc.DATA`'s sites, as offsets into the data section).
  const dataSection = all.find((s) => s.id === 11);
  const sites = [];
  for (const s of all) {
    const name = customName(linked, s);
    if (!name?.startsWith('reloc.')) continue;
    const r = { p: s.body };
    text(linked, r);
    leb(linked, r);
    for (let n = leb(linked, r); n > 0; n--) {
      const type = linked[r.p++];
      const offset = leb(linked, r);
      const index = leb(linked, r);
      const addend = WITH_ADDEND.has(type) ? sleb(linked, r) : 0;
      const o = MEMORY_ADDR.has(type) && objects.get(index);
      if (o) {
        o.lo = Math.min(o.lo, o.addr + addend);
        o.hi = Math.max(o.hi, o.addr + addend);
      }
      if (name === 'reloc.DATA') sites.push(dataSection.body + offset);
    }
  }
  const list = [...objects.values()];
  // An object holding an address at an offset that is not a multiple of 4 (a packed struct) is
  // read at every offset by `clearUnused`; the others, at their aligned words.
  for (const file of sites) {
    const seg = segs.find((g) => file >= g.at && file < g.at + g.size);
    const addr = seg && seg.addr + file - seg.at;
    if (addr % 4 === 0) continue;
    for (const o of list) if (addr >= o.addr && addr < o.addr + o.size) o.unaligned = true;
  }
  return list;
}

/** The stack pointer's first value in the linker's output (binaryen's text), or undefined. */
export function stackTop(linkedWat) {
  const m = /^ \(global \$__stack_pointer \(mut i32\) \(i32\.const (\d+)\)\)$/m.exec(linkedWat);
  return m ? Number(m[1]) : undefined;
}

/**
 * Every number the module could use as an address (constants and memory offsets in its code and
 * globals), from binaryen's text. `top` is the stack pointer's first value (`stackTop`): a
 * mutable global starting there is the stack pointer, not a use of the object at that address.
 * The stack sits below the data and grows down, so every access through it is below `top`,
 * where the first object starts (it held a panic message, kept for that reason alone).
 */
export function codeNumbers(wat, top) {
  const out = new Set();
  // Not the data segments' own offsets: they say where the data starts, not that it is used.
  let code = wat.replace(/^ \(data .*$/gm, '');
  if (top !== undefined) code = code.replace(new RegExp(`^ \\(global \\S+ \\(mut i32\\) \\(i32\\.const ${top}\\)\\)$`, 'gm'), '');
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

/**
 * Zeroes in `shipped` (a Buffer, changed in place) the read-only objects of `objects`
 * (`dataObjects`) that nothing refers to, given the numbers its code uses (`codeNumbers`).
 * Returns `{ objects, of, bytes }`: how many objects were cleared, of how many read-only ones,
 * and how many bytes were not zero before.
 */
export function clearUnused(shipped, objects, numbers) {
  const { segs, fileOf, byte } = memory(shipped);
  const sorted = [...objects].sort((a, b) => a.lo - b.lo);
  // The objects an address may belong to (windows can overlap their neighbours).
  const owners = (v) => {
    const out = [];
    for (const o of sorted) {
      if (o.lo > v) break;
      if (v <= o.hi) out.push(o);
    }
    return out;
  };
  const live = new Set(objects.filter((o) => o.writable));
  const work = [...live];
  const mark = (v) => {
    for (const o of owners(v)) {
      if (!live.has(o)) {
        live.add(o);
        work.push(o);
      }
    }
  };
  for (const v of numbers) mark(v);
  // Bytes outside every object: what the module holds besides the linker's objects, read at
  // every offset, four bytes that are all outside (padding next to an object is not a pointer
  // with the object's first bytes).
  const covered = (addr) => objects.some((o) => addr >= o.addr && addr < o.addr + o.size);
  const word = (addr) => (byte(addr) | (byte(addr + 1) << 8) | (byte(addr + 2) << 16) | (byte(addr + 3) << 24)) >>> 0;
  for (const s of segs) {
    let run = 0;
    for (let a = s.addr; a < s.addr + s.size; a++) {
      run = covered(a) ? 0 : run + 1;
      if (run >= 4) mark(word(a - 3));
    }
  }
  // A live object's words: the addresses it holds are inside it, at offsets that are multiples of
  // 4 unless the linker says otherwise (`unaligned`). Read at every offset, small integers next
  // to each other (4, then 0) make addresses by chance: 00 00 04 00 is the first object's.
  while (work.length) {
    const o = work.pop();
    const step = o.unaligned ? 1 : 4;
    for (let a = o.unaligned ? o.addr : (o.addr + 3) & ~3; a + 4 <= o.addr + o.size; a += step) mark(word(a));
  }
  let bytes = 0;
  const unused = objects.filter((o) => !o.writable && !live.has(o));
  for (const o of unused) {
    for (let a = o.addr; a < o.addr + o.size; a++) {
      const f = fileOf(a);
      if (f >= 0 && shipped[f] !== 0) {
        shipped[f] = 0;
        bytes++;
      }
    }
  }
  return { objects: unused.length, of: objects.filter((o) => !o.writable).length, bytes };
}

/** Fails unless every read-only object has the same bytes in `shipped` as in `linked` (zeros a segment lost excepted). */
export function checkSameData(linked, shipped, objects) {
  const [a, b] = [memory(linked).byte, memory(shipped).byte];
  for (const o of objects) {
    if (o.writable) continue;
    for (let x = o.addr; x < o.addr + o.size; x++) {
      if (a(x) !== b(x)) throw new Error(`${o.name} at ${o.addr} differs between the linker output and the shipped module: the data moved`);
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [linkedPath, shippedPath] = process.argv.slice(2);
  try {
    const linked = readFileSync(linkedPath);
    const shipped = readFileSync(shippedPath);
    const objects = dataObjects(linked);
    checkSameData(linked, shipped, objects);
    const dis = (path) => execFileSync('wasm-dis', [...features, path], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const r = clearUnused(shipped, objects, codeNumbers(dis(shippedPath), stackTop(dis(linkedPath))));
    writeFileSync(shippedPath, shipped);
    console.log(`rodata: ${r.objects} of ${r.of} read-only objects nothing refers to zeroed (${r.bytes} bytes)`);
  } catch (e) {
    console.error(`rodata: ${e.message}`);
    process.exit(1);
  }
}
