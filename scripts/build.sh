#!/usr/bin/env bash
# Builds the SDK into dist/funnelcake/: funnelcake.js (the wasm-bindgen glue, stub, capture, tabs, net and
# loader in one classic script), funnelcake.mjs (the same as an ES module) and funnelcake.wasm.
# The wasm is built with the size-tuned [profile.wasm-release], optimised with wasm-opt from the
# npm package binaryen, and its import/export names shortened (scripts/glue.mjs); the
# three files belong together.
source "$(dirname "$0")/env.sh"

step "wasm-pack build (profile wasm-release)"
# Panic locations name source files; dependencies' paths start with this machine's cargo registry
# (/root/.cargo/registry/src/index.crates.io-…/). Remapped to the crate's own path, so the wasm
# does not depend on where it was built (and is 67 bytes smaller). Added to the rustflags in
# .cargo/config.toml (cargo joins the two lists).
#
# `--keep-section=name`: the linker keeps the function names that `strip = true` would drop,
# for scripts/panics.mjs (below); `wasm-opt --strip-debug` drops them from the shipped wasm.
# (`strip = false` would keep them too, but also the target_features section, which switches
# wasm-bindgen to its externref glue: +775 bytes gzip.)
#
# LLVM's inliner keeps opt-level "z"'s threshold (5): a threshold of 9 was 254 bytes gzip smaller
# while wasm-opt inlined every function with one caller, and 102 larger once it does not (below).
#
# `--emit-relocs`: the linker's output keeps its symbol table and relocations, which say where
# each data object is and what uses it, for scripts/rodata.mjs (below); scripts/panics.mjs drops
# them from the module wasm-bindgen writes, which they no longer describe.
flags=("\"-Clink-arg=--keep-section=name\"" "\"-Clink-arg=--emit-relocs\"")
for dir in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/; do
  [ -d "$dir" ] && flags+=("\"--remap-path-prefix=${dir}=\"")
done
rustflags=$(IFS=,; echo "${flags[*]}")
wasm-pack --quiet build --target no-modules --profile wasm-release --out-dir target/pkg --out-name funnelcake --no-pack --no-opt \
  -- --config "target.wasm32-unknown-unknown.rustflags=[${rustflags}]"

step "panic path stubbed, wasm-opt -Oz and minify"
out=dist/funnelcake
rm -rf "$out" && mkdir -p "$out"
# The standard library's panic and formatting machinery replaced by `unreachable` (a panic
# already ends in a trap the loader catches; this skips formatting a message nothing prints):
# −2.5 KB gzip, the stable-toolchain form of nightly's -Cpanic=immediate-abort. Fails the build
# if anything but a panic formats (scripts/panics.mjs).
node scripts/panics.mjs target/pkg/funnelcake_bg.wasm target/pkg/funnelcake_np.wasm
# --low-memory-unused lets wasm-opt fold constant offsets into loads and stores (−359 bytes
# gzip): Rust lays out the 256 KiB stack first, so the low 1 KB is only touched by a stack
# nearly 256 KiB deep, and no recursion here is deeper than the tape reader's 32 levels (core/src/json.rs).
#
# `-ocimfs 20` (--one-caller-inline-max-function-size): a function with one caller is inlined
# into it only if it is at most 20 bytes, where binaryen's default inlines every one. The wasm is
# 1.4 KB larger raw and 889 bytes smaller in gzip (BENCHMARKS.md): kept apart, functions of the
# same shape repeat as whole bodies that deflate finds, and scripts/order.mjs has more, smaller
# pieces to place. `-aimfs 5` (--always-inline-max-function-size, default 2): functions of up to
# 5 bytes are inlined wherever they are called (−113 more).
optimise=(wasm-opt -ocimfs 20 -aimfs 5 -Oz --converge --low-memory-unused --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals)
"${optimise[@]}" --strip-debug --strip-producers target/pkg/funnelcake_np.wasm -o target/pkg/funnelcake_opt.wasm
# Import, export and module names shortened to a letter or two, the glue rewritten to match, and
# its initialiser cut to the one call the loader makes (scripts/glue.mjs).
node scripts/glue.mjs target/pkg/funnelcake_opt.wasm target/pkg/funnelcake.js "$out/funnelcake.wasm" target/pkg/funnelcake.names.js
# Functions reordered so that gzip finds more of each one in the ones before it (scripts/order.mjs),
# and optimised again in that order: the passes that merge and fold similar code find more
# (−86 bytes gzip; a second -Oz without the reorder finds −20). Then the read-only data nothing
# refers to once the panic path is stubbed (its messages, panic locations, source paths), found
# with the linker's symbol table and zeroed in place (scripts/rodata.mjs; −977 bytes gzip). Last,
# as zeros: letting wasm-opt cut them out of the segments afterwards was 1,676 bytes smaller raw
# but 62 larger in gzip.
#
# The order is a search whose result swings by 50–100 bytes gzip with any small change to the
# code, more than most size steps: six searches that differ only in how far they move a
# function are each finished as shipped, two at a time, and the smallest is kept (BENCHMARKS.md,
# size steps, has what each list gave when it was added).
linked="${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/wasm-release/funnelcake.wasm"
finish() { # <wasm> <moves>
  node scripts/order.mjs "$1" "$2" >"$1.log"
  "${optimise[@]}" "$1" -o "$1"
  node scripts/rodata.mjs "$linked" "$1" >>"$1.log"
}
variants=(1,2,3,5,10,20,40,100 1,2,3,5,10,20,40,100,200 1,2,3,5,10,20,40,100,200,300
  1,2,3,4,5,6,8,10,15,20,30,40,60,100 1,2,4,8,16,32,64,128,256 1,2,3,5,10,20,30,50,100)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pids=()
for i in "${!variants[@]}"; do
  cp "$out/funnelcake.wasm" "$tmp/$i.wasm"
  finish "$tmp/$i.wasm" "${variants[$i]}" &
  pids+=($!)
  # Two at a time (the machine's two cores).
  if [ "${#pids[@]}" -ge 2 ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
for p in "${pids[@]}"; do wait "$p"; done
best=
for i in "${!variants[@]}"; do
  size=$(gzip -9 -n -c "$tmp/$i.wasm" | wc -c)
  echo "order: moves ${variants[$i]}: $size bytes gzip; $(head -c 300 "$tmp/$i.wasm.log" | tr '\n' ' ')"
  if [ -z "$best" ] || [ "$size" -lt "$best_size" ]; then best=$i best_size=$size; fi
done
cp "$tmp/$best.wasm" "$out/funnelcake.wasm"
# The wasm's version, the first 8 hex digits of its SHA-256: the script asks for
# `funnelcake.wasm?v=<version>` (js/prefetch.js, `FC_WASM_V`), so a browser can keep the wasm
# for good and a new build is a new URL; the collector sends it `immutable` when the version is
# the file's (collector/src/lib.rs, `sdk_cache`). The ES module asks for the plain name: the
# bundlers that take it in give the wasm a hashed name of their own.
wasm_v=$(sha256sum "$out/funnelcake.wasm" | cut -c1-8)
# One script: the glue (no-modules form: `let wasm_bindgen`, local to the enclosing function),
# the stub, capture, tabs, net and env (Web Locks, fetch and sendBeacon, storage, random bytes and
# page strings, for the wasm, which finds `fcTabs`, `fcNet` and `fcEnv` in the same scope) and
# the loader.
# The wasm is the page's only other request for the SDK.
# `--define module=false`: the parts' CommonJS exports and `require` fallbacks, and what only node
# tests use, are dropped (−195 bytes gzip), and a page's own global `module` is never touched.
# `passes=4`: the fourth pass turns the function expressions called once into arrows (−10 bytes
# gzip against 3; 5 is larger again, 6 and 8 the same as 4).
terser js/prefetch.js target/pkg/funnelcake.names.js js/snippet.js js/native.js js/capture.js js/tabs.js js/net.js js/env.js js/loader.js --enclose --compress passes=4,unsafe_arrows=true,unsafe_methods=true --define "module=false,FC_WASM_V='$wasm_v'" --ecma 2017 --mangle --comments '/^!/' -o "$out/funnelcake.js"
cp js/funnelcake.d.ts "$out/funnelcake.d.ts"
terser js/widgets.js --compress --mangle --comments '/^!/' -o "$out/funnelcake-widgets.js"
terser js/snippet.js --enclose --compress --define module=false --mangle -o "$out/snippet.min.js"
# The ES module entry: the same stub, capture, tabs, net and loader, plus named exports (js/esm.js).
terser target/pkg/funnelcake.names.js js/snippet.js js/native.js js/capture.js js/tabs.js js/net.js js/env.js js/loader.js js/esm.js --module --compress passes=4,unsafe_arrows=true,unsafe_methods=true --define module=false --ecma 2017 --mangle --comments '/^!/' -o "$out/funnelcake.mjs"
# Precompressed copies beside each file a page loads (`.gz`, `.br`), which the collector and
# servers like nginx (gzip_static, brotli_static) send to browsers that accept them.
node scripts/precompress.mjs "$out" funnelcake.js funnelcake.mjs funnelcake.wasm funnelcake-widgets.js
ls -l "$out"
