#!/usr/bin/env bash
# bench/soak.sh — the soak run (issue 15 item 4): one Latchkey node on SQLite, 10 minutes at 70 % of
# the capacity measured just before, with a realistic mix; zero errors expected, RSS and open
# descriptors watched, p50/p99 per window (bench/soak/run.mjs says how). Writes the "Soak" section
# of docs/benchmarks.md.
#
#   bash bench/soak.sh                  # Release build, 600 s, section spliced into the report
#   DURATION=60 bash bench/soak.sh      # a short run
#   LATCHKEY_BIN=... NO_REPORT=1 ...    # an existing binary, no report (scripts/test.sh: CI's 60 s)
#
# Env: BUILD_DIR (build/bench), OUT ($BUILD_DIR/results), REPORT (docs/benchmarks.md), DURATION
# (600), LOAD (0.7), CONC (16), LATCHKEY_BIN (default: built here), NO_REPORT (1: only the JSON).
# Not covered yet: the two-node PostgreSQL variant behind nginx.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
BUILD_DIR="${BUILD_DIR:-$root/build/bench}"
OUT="${OUT:-$BUILD_DIR/results}"
REPORT="${REPORT:-$root/docs/benchmarks.md}"
DURATION="${DURATION:-600}" LOAD="${LOAD:-0.7}" CONC="${CONC:-16}"
if [[ -z "${LATCHKEY_BIN:-}" ]]; then
  cmake -S "$root" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLATCHKEY_BENCH=ON \
    -DLATCHKEY_TESTS=OFF -DLATCHKEY_STATIC_DEPS=ON >/dev/null
  cmake --build "$BUILD_DIR" --target latchkey -j2
  LATCHKEY_BIN="$BUILD_DIR/src/cli/latchkey"
fi
mkdir -p "$OUT"
LATCHKEY_BIN="$LATCHKEY_BIN" SOAK_COMMAND="DURATION=$DURATION bash bench/soak.sh" \
  node bench/soak/run.mjs --duration "$DURATION" --load "$LOAD" --concurrency "$CONC" \
  --out "$OUT/results-soak.json" >/dev/null
if [[ "${NO_REPORT:-0}" != 1 ]]; then
  node bench/soak/render.mjs "$OUT/results-soak.json" "$REPORT"
fi
