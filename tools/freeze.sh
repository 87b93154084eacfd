#!/usr/bin/env bash
# Snapshots the behaviour a layout change must not alter, so two commits can be diffed:
#   bash tools/freeze.sh OUT_DIR        (after `npm run build`)
# It records both binaries' --help (every subcommand), `config sample` of both, and
# `cyberalarm-agent parse --input jsonl --explain` over every parser fixture. The demo's summary
# line is checked separately (`npm start -- --events 5000 --exit`), since its seconds vary.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: tools/freeze.sh OUT_DIR}
mkdir -p "$out"
agent=dist/appliance/cli.js
central=dist/central/cli.js
for cmd in "" run parse replay config; do
  node "$agent" $cmd --help >"$out/agent-help-${cmd:-main}.txt" 2>&1 || true
done
for cmd in "" run worker report device officer broker-config config; do
  node "$central" $cmd --help >"$out/central-help-${cmd:-main}.txt" 2>&1 || true
done
node "$agent" config sample >"$out/agent-config-sample.yaml" 2>&1 || true
node "$central" config sample >"$out/central-config-sample.yaml" 2>&1 || true
fixtures=$(find appliance/parse -name '*.jsonl' | sort)
for f in $fixtures; do
  node "$agent" parse --input jsonl --explain <"$f" >"$out/parse-$(basename "$f" .jsonl).jsonl" 2>&1 || true
done
echo "freeze: $(ls "$out" | wc -l) files in $out" >&2
