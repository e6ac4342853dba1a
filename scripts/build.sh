#!/usr/bin/env bash
# Builds the SDK into dist/funnelcake/: funnelcake.js (the loader), funnelcake.glue.js (the
# wasm-bindgen glue) and funnelcake.wasm. The wasm is built with the size-tuned
# [profile.wasm-release] and optimised with wasm-opt from the npm package binaryen.
source "$(dirname "$0")/env.sh"

step "wasm-pack build (profile wasm-release)"
wasm-pack --quiet build --target web --profile wasm-release --out-dir target/pkg --out-name funnelcake --no-pack --no-opt

step "wasm-opt -Oz and minify"
out=dist/funnelcake
mkdir -p "$out"
wasm-opt -Oz --converge --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
  --strip-debug --strip-producers target/pkg/funnelcake_bg.wasm -o "$out/funnelcake.wasm"
terser js/snippet.js js/capture.js js/loader.js --enclose --compress --mangle --comments '/^!/' -o "$out/funnelcake.js"
terser target/pkg/funnelcake.js --module --compress --mangle -o "$out/funnelcake.glue.js"
cp js/funnelcake.d.ts "$out/funnelcake.d.ts"
terser js/widgets.js --compress --mangle --comments '/^!/' -o "$out/funnelcake-widgets.js"
terser js/snippet.js --enclose --compress --mangle -o "$out/snippet.min.js"
# The ES module entry: the same stub, capture and loader, plus named exports (js/esm.js).
terser js/snippet.js js/capture.js js/loader.js js/esm.js --module --compress --mangle --comments '/^!/' -o "$out/funnelcake.mjs"
ls -l "$out"
