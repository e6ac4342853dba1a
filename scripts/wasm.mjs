// What the build's wasm scripts (glue.mjs, panics.mjs, order.mjs, rodata.mjs) share: binaryen's feature flags
// for the module rustc writes, and the binary format's numbers and sections.

/** The wasm features Rust ≥ 1.87 output uses, which binaryen 132 needs named. */
export const features = ['--enable-bulk-memory', '--enable-nontrapping-float-to-int', '--enable-sign-ext', '--enable-mutable-globals'];

/** The unsigned LEB128 number at `at.p` in `buf`; moves `at.p` past it. */
export function leb(buf, at) {
  let value = 0, shift = 0, byte;
  do {
    byte = buf[at.p++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return value;
}

/** The signed LEB128 number at `at.p` in `buf`; moves `at.p` past it. */
export function sleb(buf, at) {
  let value = 0n, shift = 0n, byte;
  do {
    byte = buf[at.p++];
    value |= BigInt(byte & 0x7f) << shift;
    shift += 7n;
  } while (byte & 0x80);
  if (byte & 0x40) value -= 1n << shift;
  return Number(value);
}

/** `n` (≥ 0) as unsigned LEB128 bytes. */
export function uleb(n) {
  const out = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return Buffer.from(out);
}

/** The sections of a wasm binary as `{ id, from, body, end }` offsets (header, contents, end), in file order. */
export function sections(wasm) {
  const out = [];
  for (let p = 8; p < wasm.length; ) {
    const at = { p: p + 1 };
    const size = leb(wasm, at);
    out.push({ id: wasm[p], from: p, body: at.p, end: at.p + size });
    p = at.p + size;
  }
  return out;
}

/** The length-prefixed UTF-8 name at `at.p` in `buf`; moves `at.p` past it. */
export function text(buf, at) {
  const len = leb(buf, at);
  at.p += len;
  return buf.toString('utf8', at.p - len, at.p);
}

/** The name of custom section `s` (one of `sections(wasm)`), or null for a standard section. */
export function customName(wasm, s) {
  return s.id === 0 ? text(wasm, { p: s.body }) : null;
}

/** The names the module exports, in order. */
export function exportNames(wasm) {
  const s = sections(wasm).find((x) => x.id === 7);
  if (!s) return [];
  const at = { p: s.body }, out = [];
  for (let n = leb(wasm, at); n > 0; n--) {
    out.push(text(wasm, at));
    at.p++; // kind
    leb(wasm, at); // index
  }
  return out;
}
