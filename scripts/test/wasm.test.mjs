// Tests of scripts/wasm.mjs, the binary-format helpers the build's wasm scripts share.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportNames } from '../wasm.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
process.env.PATH = `${join(root, 'node_modules/.bin')}:${process.env.PATH}`;

test('exportNames lists every export, of every kind, in order (as WebAssembly.Module reads them)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasm-'));
  writeFileSync(join(dir, 'm.wat'), `(module
 (memory (export "memory") 1)
 (global (export "__instance_terminated") i32 (i32.const 8))
 (func (export "track") (result i32) (i32.const 1))
 (func (export "ünïcode") (result i32) (i32.const 2)))`);
  execFileSync('wasm-as', [join(dir, 'm.wat'), '-o', join(dir, 'm.wasm')]);
  const bytes = readFileSync(join(dir, 'm.wasm'));
  assert.deepEqual(exportNames(bytes), ['memory', '__instance_terminated', 'track', 'ünïcode']);
  assert.deepEqual(exportNames(bytes), WebAssembly.Module.exports(new WebAssembly.Module(bytes)).map((e) => e.name));
});
