#!/usr/bin/env bash
# The whole pipeline on transcripts_sample/ into demo-out/ (run by `make demo`).
set -euo pipefail
cd "$(dirname "$0")/.."
QC=.venv/bin/qualcode
OUT=demo-out

rm -rf "$OUT"
$QC init "$OUT" --coder demo >/dev/null
export QUALCODE_PROJECT="$OUT"

echo "== Importing transcripts_sample/"
$QC import transcripts_sample/
echo
echo "== What is in the project"
$QC status
$QC export segments --out "$OUT/segments.csv" >/dev/null

echo
echo "Demo project: $OUT/ (settings $OUT/qualcode.toml, store $OUT/qualcode.db)"
echo "Segments:     $OUT/segments.csv"
