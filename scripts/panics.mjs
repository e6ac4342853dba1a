// Takes the standard library's panic and formatting machinery out of the shipped wasm: the
// stable-toolchain equivalent of nightly's `-Cpanic=immediate-abort` (BENCHMARKS.md, size steps).
//
// The shipped build has `panic = "abort"` and no panic hook (the hook is the `debug` feature's),
// so a panic already ends in a trap, which the loader catches. On the way, std formats the
// message for a hook that prints nowhere on wasm32-unknown-unknown, and that formatting code
// (`core::fmt`, the panic payloads, `u32` `Display` for bounds-check messages) is about 2.5 KB
// gzip. This step replaces the body of every function of that path by `unreachable`, so a
// panic traps at once; `wasm-opt` then drops what only they called.
//
// Two kinds of function are stubbed, found by their names in the wasm's name section (the build
// links with `--keep-section=name` to keep it; `wasm-opt --strip-debug` drops it afterwards):
// - panic entry points (`core::panicking::panic_fmt`, `panic_bounds_check`, `unwrap_failed`,
//   `handle_alloc_error`, …): they only run once a panic is under way; anything may call them;
// - formatting (`core::fmt::*`, `Display`/`Debug`/`fmt::Write` impls, panic payloads): only
//   the panic path may use them. The step fails the build if any other function calls one
//   directly, since stubbing it would then break working code: the shipped wasm formats
//   nothing (its JSON and numbers are written by the core's own writer).
// A build with the `debug` feature (console_error_panic_hook) is left as it is.
//
// Also stubbed: js-sys's JSPI task waker (`js_sys::futures::jspi::*`). A waker's functions are
// reached only through its vtable, which only a task's poll (`SpawnedTask::poll`, behind the
// `__wbg_jspi_task_poll` export) makes; wasm-bindgen deletes that export, and the poll with it,
// from a module without `#[wasm_bindgen(jspi)]` exports, but the vtable's functions stay in the
// table. They are stubbed only when no poll is left and nothing outside them calls them.
//
// The linker's symbol table and relocations (`linking`, `reloc.*`; scripts/build.sh links with
// `--emit-relocs` for scripts/rodata.mjs, which reads them from the linker's output) are dropped
// here, debug build or not: they describe the module before wasm-bindgen rewrote it.
//
//   node scripts/panics.mjs <in.wasm> <out.wasm>
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { customName, features, leb, sections as sectionsOf, uleb } from './wasm.mjs';

/** Crate paths in std's v0 names carry a hash: `core[c5930c85a12de822]::fmt::write`. */
const c = (crate) => `${crate}(?:\\[[0-9a-f]+\\])?`;
/** Functions that only run once a panic is under way. */
export const PANIC = new RegExp(
  [
    `(?:^|[<\\s])${c('(?:core|std)')}::panicking::`,
    `^${c('__rustc')}::(?:rust_panic|__rust_start_panic|__rust_alloc_error_handler)$`,
    `::(?:slice_index_fail|slice_error_fail|str_index_overflow_fail|assert_failed|unwrap_failed|expect_failed|capacity_overflow|handle_alloc_error|default_alloc_error_hook|panic_access_error|panic_already_borrowed|panic_already_mutably_borrowed)(?:::h[0-9a-f]{16})?$`,
    '__rust_end_short_backtrace',
  ].join('|'),
);
/** The formatting machinery: only a panic's message may use it. */
export const FORMAT = new RegExp(
  [
    `^<?${c('core')}::fmt::`,
    ` as ${c('core')}::fmt::(?:Display|Debug|Write)>::`,
    ` as ${c('core')}::panic::PanicPayload>::`,
    'panic_handler::FormatStringPayload>',
  ].join('|'),
);

/** js-sys's JSPI task machinery: dead once wasm-bindgen has removed the task poll. */
export const JSPI = /^js_sys::futures::jspi::/;
const JSPI_POLL = /SpawnedTask::poll|__wbg_jspi_task_poll/;

/** The module's sections, the number of imported functions and the function names. */
function parse(wasm) {
  if (wasm.readUInt32LE(0) !== 0x6d736100) throw new Error('not a wasm module');
  const sections = sectionsOf(wasm);
  let imported = 0;
  const names = new Map();
  for (const s of sections) {
    const at = { p: s.body };
    const name = () => {
      const len = leb(wasm, at);
      at.p += len;
      return wasm.toString('utf8', at.p - len, at.p);
    };
    if (s.id === 2) {
      for (let n = leb(wasm, at); n > 0; n--) {
        name();
        name();
        const kind = wasm[at.p++];
        if (kind === 0) {
          leb(wasm, at);
          imported++;
        } else if (kind === 1 || kind === 2) {
          if (kind === 1) at.p++;
          const limits = wasm[at.p++];
          leb(wasm, at);
          if (limits & 1) leb(wasm, at);
        } else if (kind === 3) {
          at.p += 2;
        } else {
          throw new Error(`import kind ${kind} not understood`);
        }
      }
    } else if (s.id === 0 && name() === 'name') {
      while (at.p < s.end) {
        const sub = wasm[at.p++];
        const end = leb(wasm, at) + at.p;
        if (sub === 1) {
          for (let n = leb(wasm, at); n > 0; n--) names.set(leb(wasm, at), name());
        }
        at.p = end;
      }
    }
  }
  return { sections, imported, names };
}

/** Whether section `s` is one of the linker's relocation sections (`linking`, `reloc.*`). */
function linkerSection(wasm, s) {
  const name = customName(wasm, s);
  return name === 'linking' || !!name?.startsWith('reloc.');
}

/** Direct calls, as [caller, callee] names, from `wasm-opt --print-call-graph`. */
function directCalls(path) {
  const dot = execFileSync('wasm-opt', [...features, '--print-call-graph', path, '-o', '/dev/null'], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  return [...dot.matchAll(/^\s*"([^"]+)" -> "([^"]+)"; \/\/ call$/gm)].map((m) => [m[1], m[2]]);
}

/**
 * Stubs the panic path of the wasm at `input`, writes it to `output`, and returns what it did:
 * `{ stubbed: [names], bytes }`, or `{ skipped: reason }`. Throws if formatting is used outside
 * a panic, or if `core::panicking::panic_fmt` is not found (the names changed shape).
 */
export function stubPanics(input, output) {
  const wasm = readFileSync(input);
  const { sections, imported, names } = parse(wasm);
  if (names.size === 0) throw new Error(`${input} has no function names (link with -Clink-arg=--keep-section=name, as scripts/build.sh does)`);
  const all = [...names.values()];
  if (all.some((n) => n.includes('console_error_panic_hook'))) {
    writeFileSync(output, Buffer.concat([wasm.subarray(0, 8), ...sections.filter((s) => !linkerSection(wasm, s)).map((s) => wasm.subarray(s.from, s.end))]));
    return { skipped: 'a panic hook is linked (debug build): its messages need the formatting code' };
  }
  if (!all.some((n) => new RegExp(`^${c('core')}::panicking::panic_fmt$`).test(n))) {
    throw new Error('core::panicking::panic_fmt not found: the standard library names changed shape');
  }
  const panic = (n) => PANIC.test(n);
  const format = (n) => !panic(n) && FORMAT.test(n);
  const calls = directCalls(input);
  // Every build calls into the panic path (bounds checks at least); none found means the call
  // graph was not read (its format changed), and the check below would pass on nothing.
  if (!calls.some(([, callee]) => panic(callee))) throw new Error('no calls into the panic path found: the call graph was not read');
  const callers = new Map();
  for (const [caller, callee] of calls) {
    if (!callers.has(callee)) callers.set(callee, []);
    callers.get(callee).push(caller);
  }
  // The code that asked for the formatting: the nearest callers outside the standard library
  // (a `format!` reaches `core::fmt::write` through `alloc::fmt::format`).
  const std = /^<?(?:core|alloc|std)(?:\[[0-9a-f]+\])?::/;
  const askers = (name) => {
    const found = new Set(), seen = new Set([name]);
    for (let level = callers.get(name) ?? []; level.length && found.size < 5; ) {
      const next = [];
      for (const caller of level) {
        if (seen.has(caller)) continue;
        seen.add(caller);
        if (std.test(caller)) next.push(...(callers.get(caller) ?? []));
        else found.add(caller);
      }
      level = next;
    }
    return found.size ? ` (from ${[...found].join(', ')})` : '';
  };
  // The JSPI waker, if the poll that makes it is gone and only the waker's own functions call
  // into it (they reach each other; anything else calling one would make it live).
  const jspiLive = all.some((n) => JSPI_POLL.test(n))
    || calls.some(([caller, callee]) => JSPI.test(callee) && !JSPI.test(caller));
  const jspi = (n) => !jspiLive && JSPI.test(n);
  const outside = calls
    .filter(([caller, callee]) => format(callee) && !panic(caller) && !format(caller))
    .map(([caller, callee]) => `${caller} calls ${callee}${std.test(caller) ? askers(caller) : ''}`);
  if (outside.length) {
    throw new Error(`formatting used outside a panic, which this step would break:\n  ${[...new Set(outside)].join('\n  ')}`);
  }
  const stub = Buffer.from([0x00, 0x00, 0x0b]); // no locals; unreachable; end
  const stubbed = [];
  let bytes = 0;
  const parts = [wasm.subarray(0, 8)];
  for (const s of sections) {
    if (linkerSection(wasm, s)) continue;
    if (s.id !== 10) {
      parts.push(wasm.subarray(s.from, s.end));
      continue;
    }
    const at = { p: s.body };
    const count = leb(wasm, at);
    const bodies = [uleb(count)];
    for (let i = 0; i < count; i++) {
      const size = leb(wasm, at);
      const body = wasm.subarray(at.p, at.p + size);
      at.p += size;
      const name = names.get(imported + i) ?? '';
      if (panic(name) || format(name) || jspi(name)) {
        stubbed.push(name);
        bytes += size - stub.length;
        bodies.push(uleb(stub.length), stub);
      } else {
        bodies.push(uleb(size), body);
      }
    }
    const code = Buffer.concat(bodies);
    parts.push(Buffer.from([10]), uleb(code.length), code);
  }
  writeFileSync(output, Buffer.concat(parts));
  return { stubbed, bytes };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [input, output] = process.argv.slice(2);
  try {
    const result = stubPanics(input, output);
    if (result.skipped) console.log(`panics: left as they are, ${result.skipped}`);
    else {
      const waker = result.stubbed.filter((n) => JSPI.test(n)).length;
      console.log(`panics: ${result.stubbed.length - waker} functions of the panic path and ${waker} of the unused JSPI task waker stubbed (${result.bytes} bytes of code)`);
    }
  } catch (e) {
    console.error(`panics: ${e.message}`);
    process.exit(1);
  }
}
