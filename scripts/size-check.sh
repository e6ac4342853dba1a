#!/usr/bin/env bash
# Prints the bytes of everything a page loads for the SDK (one script + the wasm), raw and
# gzip -9 (as a server sends it: no file name in the header), and fails when the gzip -9 total
# exceeds size-budget.json (brotli: bench/browser).
# The budget only ratchets down: lower it in the same commit that makes the SDK smaller.
# It also fails when README.md no longer states the total or the snippet's bytes as measured.
source "$(dirname "$0")/env.sh"

dir=dist/funnelcake
budget=$(sed -n 's/.*"gzip_total_bytes": *\([0-9]*\).*/\1/p' size-budget.json)
total_raw=0
total_gz=0
printf '%-22s %10s %10s\n' file raw "gzip -9"
for f in funnelcake.js funnelcake.wasm; do
  [ -f "$dir/$f" ] || { echo "size-check: $dir/$f missing; run scripts/build.sh" >&2; exit 1; }
  raw=$(wc -c <"$dir/$f")
  gz=$(gzip -9 -n -c "$dir/$f" | wc -c)
  printf '%-22s %10d %10d\n' "$f" "$raw" "$gz"
  total_raw=$((total_raw + raw))
  total_gz=$((total_gz + gz))
done
printf '%-22s %10d %10d\n' total "$total_raw" "$total_gz"
echo "size-check: gzip -9 total ${total_gz} bytes, budget ${budget} bytes (target 17408 = 17 KB)"
if [ "$total_gz" -gt "$budget" ]; then
  echo "size-check: FAILED: ${total_gz} > budget ${budget}" >&2
  exit 1
fi

# README states these figures; a build that changes them changes README in the same commit.
comma() { echo "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }
readme_total="| total | $(comma "$total_raw") | $(comma "$total_gz") |"
snippet_bytes=$(wc -c <"$dir/snippet.min.js")
for want in "$readme_total" "snippet.min.js\` (${snippet_bytes} bytes"; do
  if ! grep -qF -- "$want" README.md; then
    echo "size-check: FAILED: README.md does not say \"$want\" (the size table, or the snippet's bytes in Embedding)" >&2
    exit 1
  fi
done
