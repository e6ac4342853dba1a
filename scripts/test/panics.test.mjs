// scripts/panics.mjs on small modules written in the text format, named as rustc names the
// standard library's functions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stubPanics } from '../panics.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
process.env.PATH = `${join(root, 'node_modules/.bin')}:${process.env.PATH}`;
const dir = mkdtempSync(join(tmpdir(), 'panics-'));

/** Assembles `wat` (with its names) and runs the step on it; returns the result and the output module. */
function run(wat) {
  const input = join(dir, 'in.wasm'), output = join(dir, 'out.wasm');
  writeFileSync(join(dir, 'in.wat'), wat);
  execFileSync('wasm-as', ['-g', join(dir, 'in.wat'), '-o', input]);
  const result = stubPanics(input, output);
  return { result, module: new WebAssembly.Module(readFileSync(output)) };
}

const std = `
 (table 3 funcref)
 (elem (i32.const 0) $"<u32 as core[c5930c85a12de822]::fmt::Display>::fmt" $"<core[c5930c85a12de822]::cell::BorrowError as core[c5930c85a12de822]::fmt::Display>::fmt")
 (func $"core[c5930c85a12de822]::panicking::panic_fmt" (param i32)
  (call $"std[a543996e6e7dbf1e]::panicking::panic_with_hook" (local.get 0)))
 (func $"std[a543996e6e7dbf1e]::panicking::panic_with_hook" (param i32)
  (drop (call $"core[c5930c85a12de822]::fmt::write" (local.get 0)))
  (unreachable))
 (func $"core[c5930c85a12de822]::fmt::write" (param i32) (result i32)
  (call_indirect (param i32 i32) (result i32) (local.get 0) (i32.const 1) (i32.const 0)))
 (func $"<u32 as core[c5930c85a12de822]::fmt::Display>::fmt" (param i32 i32) (result i32)
  (call $"<core[c5930c85a12de822]::fmt::Formatter>::pad_integral" (local.get 0) (local.get 1)))
 (func $"<core[c5930c85a12de822]::fmt::Formatter>::pad_integral" (param i32 i32) (result i32)
  (i32.add (local.get 0) (local.get 1)))
 (func $"<core[c5930c85a12de822]::cell::BorrowError as core[c5930c85a12de822]::fmt::Display>::fmt" (param i32 i32) (result i32)
  (i32.const 0))
 (func $"core[c5930c85a12de822]::panicking::panic_bounds_check" (param i32 i32)
  (call $"core[c5930c85a12de822]::panicking::panic_fmt" (local.get 0)))
 (func $"alloc[3ca501edff3f0c7c]::raw_vec::capacity_overflow"
  (call $"core[c5930c85a12de822]::panicking::panic_fmt" (i32.const 0)))
 (func $"core::option::unwrap_failed::h0123456789abcdef"
  (call $"core[c5930c85a12de822]::panicking::panic_fmt" (i32.const 0)))
`;
const app = `
 (func $"app::get::h0123456789abcdef" (export "get") (param i32) (result i32)
  (if (i32.ge_u (local.get 0) (i32.const 4))
   (then (call $"core[c5930c85a12de822]::panicking::panic_bounds_check" (local.get 0) (i32.const 4))))
  (i32.mul (local.get 0) (i32.const 10)))
 (func $"funnelcake_core::panicking::lookalike::h0123456789abcdef" (export "lookalike") (result i32)
  (i32.const 5))
`;

test('the panic path and the formatting only it uses are stubbed; the rest runs as before', () => {
  const { result, module } = run(`(module ${std} ${app})`);
  assert.deepEqual(result.stubbed.map((n) => n.replace(/\[[0-9a-f]+\]/g, '')).sort(), [
    '<core::cell::BorrowError as core::fmt::Display>::fmt',
    '<core::fmt::Formatter>::pad_integral',
    '<u32 as core::fmt::Display>::fmt',
    'alloc::raw_vec::capacity_overflow',
    'core::fmt::write',
    'core::option::unwrap_failed::h0123456789abcdef',
    'core::panicking::panic_bounds_check',
    'core::panicking::panic_fmt',
    'std::panicking::panic_with_hook',
  ]);
  assert.ok(result.bytes > 0);
  const { get, lookalike } = new WebAssembly.Instance(module).exports;
  assert.equal(get(3), 30);
  assert.equal(lookalike(), 5); // a crate's own `panicking` module is not the standard library's
  // A panic (index out of bounds) traps at once, as `panic = "abort"` ended it before.
  assert.throws(() => get(4), (e) => e instanceof WebAssembly.RuntimeError && /unreachable/.test(e.message));
});

test('formatting called outside a panic fails the build rather than being stubbed', () => {
  const formats = `
 (func $"app::label::hfedcba9876543210" (export "label") (param i32) (result i32)
  (call $"<u32 as core[c5930c85a12de822]::fmt::Display>::fmt" (local.get 0) (i32.const 0)))
`;
  assert.throws(() => run(`(module ${std} ${app} ${formats})`), /formatting used outside a panic[^]*app::label::hfedcba9876543210 calls <u32 as core\[c5930c85a12de822\]::fmt::Display>::fmt/);
  // Through the standard library (`format!`): the SDK's function that asked is named.
  const viaStd = `
 (func $"alloc[3ca501edff3f0c7c]::fmt::format::format_inner" (param i32) (result i32)
  (call $"core[c5930c85a12de822]::fmt::write" (local.get 0)))
 (func $"app::describe::h0123456789abcdef" (export "describe") (param i32) (result i32)
  (call $"alloc[3ca501edff3f0c7c]::fmt::format::format_inner" (local.get 0)))
`;
  assert.throws(
    () => run(`(module ${std} ${app} ${viaStd})`),
    /format_inner calls core\[c5930c85a12de822\]::fmt::write \(from app::describe::h0123456789abcdef\)/,
  );
});

test('a debug build (with console_error_panic_hook) is left as it is', () => {
  const hook = ` (func $"console_error_panic_hook::hook::h0123456789abcdef" (param i32))`;
  const { result, module } = run(`(module ${std} ${app} ${hook})`);
  assert.match(result.skipped, /panic hook/);
  assert.equal(new WebAssembly.Instance(module).exports.get(2), 20);
});

test('names the standard library no longer uses, no names, or no call graph fail the build', () => {
  const noStd = `(module ${app.replaceAll('core[c5930c85a12de822]::panicking::panic_bounds_check', 'oob')} (func $oob (param i32 i32) (unreachable)))`;
  assert.throws(() => run(noStd), /panic_fmt not found/);
  // panic_fmt present but, as far as the call graph read says, never called.
  assert.throws(() => run(`(module (func $"core[c5930c85a12de822]::panicking::panic_fmt" (param i32) (unreachable)))`), /call graph was not read/);
  const stripped = join(dir, 'stripped.wasm');
  writeFileSync(join(dir, 's.wat'), noStd);
  execFileSync('wasm-as', [join(dir, 's.wat'), '-o', stripped]);
  assert.throws(() => stubPanics(stripped, join(dir, 'x.wasm')), /no function names/);
});

// js-sys's JSPI task waker: its functions sit in the table (the waker's vtable; here the third
// slot of `std`'s table), reachable only from a task poll wasm-bindgen removed.
const waker = `
 (elem (i32.const 2) $"js_sys::futures::jspi::task_waker::raw_wake::h0123456789abcdef")
 (func $"js_sys::futures::jspi::task_waker::raw_wake::h0123456789abcdef" (param i32)
  (call $"js_sys::futures::jspi::SpawnedTask::wake::h0123456789abcdef" (local.get 0)))
 (func $"js_sys::futures::jspi::SpawnedTask::wake::h0123456789abcdef" (param i32)
  (drop (local.get 0)))
 (func $"app::wake::h0123456789abcdef" (export "wake") (param i32)
  (call_indirect (param i32) (local.get 0) (i32.const 2)))
`;
const stubbedWaker = (result) => result.stubbed.filter((n) => n.startsWith('js_sys::')).sort();

test('the JSPI task waker is stubbed when no task poll is left, and kept otherwise', () => {
  const { result, module } = run(`(module ${std} ${app} ${waker})`);
  assert.deepEqual(stubbedWaker(result), [
    'js_sys::futures::jspi::SpawnedTask::wake::h0123456789abcdef',
    'js_sys::futures::jspi::task_waker::raw_wake::h0123456789abcdef',
  ]);
  // Reached through the table, it now traps (in the SDK nothing reaches it).
  assert.throws(() => new WebAssembly.Instance(module).exports.wake(0), /unreachable/);
  // A task poll present: the waker is live.
  const poll = ` (func $"js_sys::futures::jspi::SpawnedTask::poll::h0123456789abcdef" (param i32))`;
  const withPoll = run(`(module ${std} ${app} ${waker} ${poll})`);
  assert.deepEqual(stubbedWaker(withPoll.result), []);
  new WebAssembly.Instance(withPoll.module).exports.wake(0);
  // Called directly from outside the waker: live too.
  const caller = ` (func $"app::direct::h0123456789abcdef" (export "direct") (param i32)
  (call $"js_sys::futures::jspi::SpawnedTask::wake::h0123456789abcdef" (local.get 0)))`;
  assert.deepEqual(stubbedWaker(run(`(module ${std} ${app} ${waker} ${caller})`).result), []);
});

test("the linker's relocation sections are dropped (debug build or not); other custom sections stay", () => {
  const custom = (name) => {
    const payload = Buffer.concat([Buffer.from([name.length]), Buffer.from(name), Buffer.from([1, 2, 3])]);
    return Buffer.concat([Buffer.from([0, payload.length]), payload]);
  };
  const linkerSections = (wasm) => WebAssembly.Module.customSections(new WebAssembly.Module(wasm), 'linking').length
    + WebAssembly.Module.customSections(new WebAssembly.Module(wasm), 'reloc.CODE').length
    + WebAssembly.Module.customSections(new WebAssembly.Module(wasm), 'reloc.DATA').length;
  const hook = ` (func $"console_error_panic_hook::hook::h0123456789abcdef" (param i32))`;
  for (const wat of [`(module ${std} ${app})`, `(module ${std} ${app} ${hook})`]) {
    const input = join(dir, 'linked.wasm'), output = join(dir, 'linked-out.wasm');
    writeFileSync(join(dir, 'linked.wat'), wat);
    execFileSync('wasm-as', ['-g', join(dir, 'linked.wat'), '-o', input]);
    const linked = Buffer.concat([readFileSync(input), custom('linking'), custom('reloc.CODE'), custom('reloc.DATA'), custom('other')]);
    writeFileSync(input, linked);
    assert.equal(linkerSections(linked), 3);
    stubPanics(input, output);
    const out = readFileSync(output);
    assert.equal(linkerSections(out), 0);
    assert.equal(WebAssembly.Module.customSections(new WebAssembly.Module(out), 'other').length, 1);
    assert.equal(new WebAssembly.Instance(new WebAssembly.Module(out)).exports.get(1), 10);
  }
});
