#!/usr/bin/env bash
# bench/passwords.sh — the password sign-in row (issue 11): Latchkey's email + password sign-in side
# by side with Better Auth's (../shared/peer-bench), server CPU per sign-in and sign-ins/s at
# c=CONC, each server alone on PEER_CPU, next to the raw argon2id verification rate on the same core
# (latchkey_micro BM_Argon2idVerifyDefault). ~5 minutes (Better Auth's scrypt is ~0.1 s per sign-in).
#
#   bash bench/passwords.sh            # builds, runs, writes the section into docs/benchmarks.md
#   QUICK=1 bash bench/passwords.sh    # development: RUNS=1, 200 sign-ins (~1 min)
#
# bench/run.sh runs the same part (PASSWORDS=0 there skips it; bench/report.mjs then renders the
# section from $OUT/results-passwords.json). Run alone, this script splices the section into the
# existing $REPORT (between its passwords markers, or before the storage section) and leaves the
# rest of the report as it is.
#
# Env: BUILD_DIR (build/bench), OUT ($BUILD_DIR/results), PEER_BENCH (../shared/peer-bench next to
# the repo), REPORT (docs/benchmarks.md), RUNS (3), CONC (16), PW_N (800), PW_USERS (16),
# PW_WARMUP (32), PEER_CPU (0) / LOAD_CPU (1), MICRO_MIN_TIME (0.5), ONLY=latchkey|better-auth,
# PASSWORDS_EMBEDDED=1 (set by bench/run.sh: no build, no harness set-up, no splice).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [[ "${QUICK:-0}" == "1" ]]; then
  : "${RUNS:=1}" "${PW_N:=200}" "${PW_WARMUP:=16}" "${MICRO_MIN_TIME:=0.05}"
fi
export RUNS="${RUNS:-3}" CONC="${CONC:-16}" PW_N="${PW_N:-800}" PW_USERS="${PW_USERS:-16}" \
  PW_WARMUP="${PW_WARMUP:-32}" PEER_CPU="${PEER_CPU:-0}" LOAD_CPU="${LOAD_CPU:-1}" ONLY="${ONLY:-}"
MICRO_MIN_TIME="${MICRO_MIN_TIME:-0.5}"
PEER_BENCH="${PEER_BENCH:-$(cd "$root/.." && pwd)/shared/peer-bench}"
BUILD_DIR="${BUILD_DIR:-$root/build/bench}"
OUT="${OUT:-$BUILD_DIR/results}"
REPORT="${REPORT:-$root/docs/benchmarks.md}"
EMBEDDED="${PASSWORDS_EMBEDDED:-0}"
LATCHKEY_BIN="$BUILD_DIR/src/cli/latchkey"
MICRO_BIN="$BUILD_DIR/bench/micro/latchkey_micro"
work="$BUILD_DIR/peer-bench-work"
copy="$work/peer-bench"

step() { printf '\n==> %s\n' "$*" >&2; }

for tool in cmake ninja node npm taskset; do
  command -v "$tool" >/dev/null || { echo "bench/passwords.sh: '$tool' is missing (bash scripts/install-deps.sh)" >&2; exit 2; }
done
if [[ "$EMBEDDED" != "1" ]]; then
  [[ -f "$PEER_BENCH/package-lock.json" ]] || { echo "bench/passwords.sh: peer harness not found at $PEER_BENCH (set PEER_BENCH)" >&2; exit 2; }
  step "Building latchkey and latchkey_micro (Release) in $BUILD_DIR"
  cmake -S "$root" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLATCHKEY_BENCH=ON \
    -DLATCHKEY_TESTS=OFF -DLATCHKEY_STATIC_DEPS=ON >/dev/null
  cmake --build "$BUILD_DIR" --target latchkey latchkey_micro -j2
  # The same copy of the harness bench/run.sh prepares (node_modules reused while the lock is unchanged).
  step "Preparing a copy of the peer harness in $copy"
  mkdir -p "$copy"
  (cd "$PEER_BENCH" && tar --exclude=./node_modules --exclude=./results -cf - .) | (cd "$copy" && tar -xf -)
  chmod -R u+w "$copy"
  if ! cmp -s "$copy/package-lock.json" "$copy/node_modules/.bench-lock.json"; then
    step "npm ci in the harness copy (builds better-sqlite3 from source; 1-4 min)"
    (cd "$copy" && npm ci --no-audit --no-fund --loglevel=error >&2)
    cp "$copy/package-lock.json" "$copy/node_modules/.bench-lock.json"
  fi
  if ! (cd "$copy" && node -e "new (require('better-sqlite3'))(':memory:')" 2>/dev/null); then
    (cd "$copy" && npm rebuild better-sqlite3 >&2)
  fi
fi
[[ -x "$LATCHKEY_BIN" ]] || { echo "bench/passwords.sh: $LATCHKEY_BIN not built" >&2; exit 2; }
[[ -d "$copy/node_modules/undici" ]] || { echo "bench/passwords.sh: no harness copy with node_modules at $copy" >&2; exit 2; }
cp bench/peer/lib/flow.mjs "$copy/lib/flow-latchkey.mjs"
cp bench/passwords/run.mjs "$copy/bench/passwords-latchkey.mjs"
mkdir -p "$OUT"
pw_data="$work/latchkey-passwords-data"
trap 'rm -rf "$pw_data"' EXIT

# The ceiling: raw argon2id verification on the server's core. bench/run.sh has run the whole
# micro suite already ($OUT/micro.json); alone, run just that benchmark.
if [[ "$EMBEDDED" == "1" && -f "$OUT/micro.json" ]]; then
  micro_json="$OUT/micro.json"
else
  step "Raw argon2id verification (BM_Argon2idVerifyDefault, pinned to cpu $PEER_CPU)"
  micro_json="$OUT/micro-argon2.json"
  taskset -c "$PEER_CPU" "$MICRO_BIN" --benchmark_filter='^BM_Argon2idVerifyDefault$' \
    --benchmark_min_time="$MICRO_MIN_TIME" --benchmark_out="$micro_json" --benchmark_out_format=json >&2
fi

step "Password sign-in (RUNS=$RUNS PW_N=$PW_N c=$CONC, server on cpu $PEER_CPU)"
command_line="${PASSWORDS_COMMAND:-$([[ "${QUICK:-0}" == "1" ]] && echo 'QUICK=1 bash bench/passwords.sh' || echo 'bash bench/passwords.sh')}"
(cd "$copy" && env OUT="$OUT" LATCHKEY_BIN="$LATCHKEY_BIN" LATCHKEY_BENCH_DATA="$pw_data" \
  ARGON2_MICRO_JSON="$micro_json" PASSWORDS_COMMAND="$command_line" \
  taskset -c "$LOAD_CPU" node bench/passwords-latchkey.mjs)

if [[ "$EMBEDDED" != "1" ]]; then
  node bench/passwords/splice.mjs "$OUT" "$REPORT"
fi
