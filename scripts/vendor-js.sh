#!/usr/bin/env bash
# Reproduce the vendored JavaScript from npm, at pinned versions, with their licenses.
#   scripts/vendor-js.sh          rewrite the vendored files
#   scripts/vendor-js.sh --check  fail if the committed files differ from npm's
# The page never loads anything from a CDN: these files are served from /static/vendor/.
set -euo pipefail
cd "$(dirname "$0")/.."
ZXING=zxing-wasm@3.1.4          # MIT: zxing-cpp compiled to WebAssembly, reader build
NOBLE=@noble/ed25519@3.2.0      # MIT: Ed25519 when WebCrypto lacks it
AXE=axe-core@4.14.1             # MPL-2.0: accessibility checks, tests only

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$ZXING" "$NOBLE" "$AXE" >/dev/null)
for archive in "$work"/*.tgz; do
  mkdir -p "${archive%.tgz}" && tar xzf "$archive" -C "${archive%.tgz}"
done
zxing=$(ls -d "$work"/zxing-wasm-*/package)
noble=$(ls -d "$work"/noble-ed25519-*/package)
axe=$(ls -d "$work"/axe-core-*/package)

out=$work/out
mkdir -p "$out/verifier/web/static/vendor/zxing-wasm" "$out/verifier/web/static/vendor/noble-ed25519" \
  "$out/tests/vendor/axe-core"
cp "$zxing/dist/iife/reader/index.js" "$out/verifier/web/static/vendor/zxing-wasm/zxing-reader.js"
cp "$zxing/dist/reader/zxing_reader.wasm" "$out/verifier/web/static/vendor/zxing-wasm/"
cp "$zxing/LICENSE" "$out/verifier/web/static/vendor/zxing-wasm/LICENSE"
cp "$noble/index.js" "$out/verifier/web/static/vendor/noble-ed25519/ed25519.js"
cp "$noble/LICENSE" "$out/verifier/web/static/vendor/noble-ed25519/LICENSE"
cp "$axe/axe.min.js" "$axe/LICENSE" "$out/tests/vendor/axe-core/"

if [ "${1:-}" = "--check" ]; then
  (cd "$out" && find . -type f | sort | while read -r file; do
    cmp -s "$file" "$OLDPWD/$file" || { echo "differs from npm: $file" >&2; exit 1; }
  done)
  echo "vendored files match $ZXING $NOBLE $AXE"
else
  cp -r "$out"/. .
  echo "vendored $ZXING $NOBLE $AXE"
fi
