// Writes `<file>.gz` (`gzip -9 -n`, the size scripts/size-check.sh measures: GNU gzip's deflate
// is 148 bytes smaller on the wasm than node's zlib at level 9) and `<file>.br` (brotli quality
// 11, scripts/brotli.mjs) beside each file named, for servers that send a precompressed copy to
// browsers that accept it: the collector (tower-http's ServeDir, collector/src/lib.rs), nginx's
// gzip_static/brotli_static, Caddy's `file_server precompressed`. Deterministic: no name or time
// in the gzip header.
//
// usage: node scripts/precompress.mjs <dir> <file>...
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotli } from './brotli.mjs';

const [dir, ...files] = process.argv.slice(2);
for (const name of files) {
  const path = join(dir, name);
  const raw = readFileSync(path);
  const br = brotli(raw, name);
  const gz = execFileSync('gzip', ['-9', '-n', '-c', path], { maxBuffer: 1 << 26 });
  writeFileSync(path + '.br', br);
  writeFileSync(path + '.gz', gz);
  console.log(`${name}: ${raw.length} raw, ${gz.length} gzip, ${br.length} brotli`);
}
