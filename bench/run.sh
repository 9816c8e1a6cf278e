#!/usr/bin/env bash
# bench/run.sh — the one benchmark command (issue 6): builds Latchkey (Release) and the micro
# benchmarks, runs the micro benchmarks, the raw OpenSSL RS256 signing rate, and the peer harness
# (../shared/peer-bench: Better Auth + oidc-provider) against Better Auth and then Latchkey with the
# same driver, the same IdP and the same pinning; writes docs/benchmarks.md.
#
#   bash bench/run.sh            # documented run: RUNS=3, the harness's sizes (~12 min)
#   QUICK=1 bash bench/run.sh    # development: RUNS=1, small N, short wrk (~3 min)
#
# Env: PEER_BENCH (harness folder, default ../shared/peer-bench next to the repo), BUILD_DIR
# (default build/bench), OUT (raw results, default $BUILD_DIR/results), PEER_CPU (0) / LOAD_CPU (1),
# ONLY=latchkey|better-auth (skip the other side; the report then reuses the other's last results
# from OUT), REPORT (default docs/benchmarks.md), and the harness knobs RUNS N_SEQ N_CONC CONC WARMUP
# WRK_SECS WRK_CONN, plus REFRESH_SESSIONS.
# Then the storage benchmark (bench/storage.sh: SQLite vs PostgreSQL, one node vs two behind nginx,
# ~3 more minutes; STORAGE=0 skips it, the report then shows the last storage results in OUT if any).
# Then the password sign-in row (bench/passwords.sh: Latchkey's and Better Auth's email + password
# sign-in at c=CONC, ~5 more minutes, PW_N/PW_USERS/PW_WARMUP; PASSWORDS=0 skips it, the report then
# shows the last password results in OUT if any; ONLY applies to it too).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if [[ "${QUICK:-0}" == "1" ]]; then
  : "${RUNS:=1}" "${N_SEQ:=50}" "${N_CONC:=200}" "${WARMUP:=20}" "${WRK_SECS:=3}" \
    "${REFRESH_SESSIONS:=64}" "${MICRO_MIN_TIME:=0.05}" "${OPENSSL_SECS:=2}"
fi
export RUNS="${RUNS:-3}" N_SEQ="${N_SEQ:-200}" N_CONC="${N_CONC:-800}" CONC="${CONC:-16}" \
  WARMUP="${WARMUP:-100}" WRK_SECS="${WRK_SECS:-10}" WRK_CONN="${WRK_CONN:-64}" \
  REFRESH_SESSIONS="${REFRESH_SESSIONS:-128}" PEER_CPU="${PEER_CPU:-0}" LOAD_CPU="${LOAD_CPU:-1}"
MICRO_MIN_TIME="${MICRO_MIN_TIME:-0.5}"
OPENSSL_SECS="${OPENSSL_SECS:-5}"
PEER_BENCH="${PEER_BENCH:-$(cd "$root/.." && pwd)/shared/peer-bench}"
BUILD_DIR="${BUILD_DIR:-$root/build/bench}"
OUT="${OUT:-$BUILD_DIR/results}"
REPORT="${REPORT:-$root/docs/benchmarks.md}"
ONLY="${ONLY:-}"
LATCHKEY_PORT=8080
PEER_PORT=3000

step() { printf '\n==> %s\n' "$*" >&2; }

for tool in cmake ninja node npm wrk taskset openssl; do
  command -v "$tool" >/dev/null || { echo "bench/run.sh: '$tool' is missing (bash scripts/install-deps.sh)" >&2; exit 2; }
done
[[ -f "$PEER_BENCH/package-lock.json" ]] || { echo "bench/run.sh: peer harness not found at $PEER_BENCH (set PEER_BENCH)" >&2; exit 2; }

step "Building latchkey and latchkey_micro (Release) in $BUILD_DIR"
cmake -S "$root" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLATCHKEY_BENCH=ON \
  -DLATCHKEY_TESTS=OFF -DLATCHKEY_STATIC_DEPS=ON >/dev/null
cmake --build "$BUILD_DIR" --target latchkey latchkey_micro -j2
LATCHKEY_BIN="$BUILD_DIR/src/cli/latchkey"
MICRO_BIN="$BUILD_DIR/bench/micro/latchkey_micro"

# The harness is read-only and shared: run a copy, kept in the build dir so node_modules (npm ci
# compiles better-sqlite3) is reused while the harness's lockfile is unchanged.
work="$BUILD_DIR/peer-bench-work"
mkdir -p "$OUT" "$work/peer-bench"
trap 'rm -rf "$work/latchkey-data"' EXIT

step "Preparing a copy of the peer harness in $work/peer-bench"
(cd "$PEER_BENCH" && tar --exclude=./node_modules --exclude=./results -cf - .) | (cd "$work/peer-bench" && tar -xf -)
chmod -R u+w "$work/peer-bench"
cp bench/peer/run.mjs "$work/peer-bench/bench/run-latchkey.mjs"
cp bench/peer/refresh.lua "$work/peer-bench/bench/refresh.lua"
cp bench/peer/trace.mjs "$work/peer-bench/bench/trace-latchkey.mjs"
cp bench/peer/lib/flow.mjs "$work/peer-bench/lib/flow-latchkey.mjs"
cp bench/peer/latchkey.mjs "$work/peer-bench/targets/latchkey.mjs"
if ! cmp -s "$work/peer-bench/package-lock.json" "$work/peer-bench/node_modules/.bench-lock.json"; then
  step "npm ci in the harness copy (builds better-sqlite3 from source; 1-4 min)"
  (cd "$work/peer-bench" && npm ci --no-audit --no-fund --loglevel=error >&2)
  cp "$work/peer-bench/package-lock.json" "$work/peer-bench/node_modules/.bench-lock.json"
fi
if ! (cd "$work/peer-bench" && node -e "new (require('better-sqlite3'))(':memory:')" 2>/dev/null); then
  (cd "$work/peer-bench" && npm rebuild better-sqlite3 >&2)
fi

# The IdP must accept both relying parties' redirect URIs.
export IDP_REDIRECT_URIS="http://127.0.0.1:${PEER_PORT}/api/auth/callback/idp,http://127.0.0.1:${LATCHKEY_PORT}/__clerk/v1/oauth_callback"

step "Micro benchmarks (pinned to cpu $PEER_CPU)"
taskset -c "$PEER_CPU" "$MICRO_BIN" --benchmark_min_time="$MICRO_MIN_TIME" \
  --benchmark_out="$OUT/micro.json" --benchmark_out_format=json >&2

step "Raw OpenSSL RS256 (RSA-2048 sign) rate, pinned to cpu $PEER_CPU"
taskset -c "$PEER_CPU" openssl speed -seconds "$OPENSSL_SECS" rsa2048 >"$OUT/openssl-speed.txt" 2>/dev/null
grep -E '^rsa 2048' "$OUT/openssl-speed.txt" >&2

run_target() {  # name target-file port [extra env...]
  local name="$1" file="$2" port="$3"
  shift 3
  step "Peer harness against $name (RUNS=$RUNS N_SEQ=$N_SEQ N_CONC=$N_CONC c=$CONC, server on cpu $PEER_CPU)"
  (cd "$work/peer-bench" && env TARGET="$file" PEER_PORT="$port" OUT="$OUT" "$@" \
    taskset -c "$LOAD_CPU" node bench/run-latchkey.mjs)
}
if [[ "$ONLY" != "latchkey" ]]; then
  run_target better-auth ./targets/better-auth.mjs "$PEER_PORT"
fi
if [[ "$ONLY" != "better-auth" ]]; then
  run_target latchkey ./targets/latchkey.mjs "$LATCHKEY_PORT" LATCHKEY_BIN="$LATCHKEY_BIN" \
    LATCHKEY_BENCH_DATA="$work/latchkey-data"
fi

if [[ "${PASSWORDS:-1}" == "1" ]]; then
  step "Password sign-in (bench/passwords.sh)"
  BUILD_DIR="$BUILD_DIR" OUT="$OUT" PEER_BENCH="$PEER_BENCH" PASSWORDS_EMBEDDED=1 ONLY="$ONLY" \
    PASSWORDS_COMMAND="${BENCH_COMMAND:-$( [[ "${QUICK:-0}" == "1" ]] && echo 'QUICK=1 bash bench/run.sh' || echo 'bash bench/run.sh')}" \
    bash bench/passwords.sh
fi

if [[ "${STORAGE:-1}" == "1" && "$ONLY" != "better-auth" ]]; then
  step "Storage benchmark (bench/storage.sh)"
  BUILD_DIR="$BUILD_DIR" OUT="$OUT" PEER_BENCH="$PEER_BENCH" STORAGE_EMBEDDED=1 \
    STORAGE_COMMAND="${BENCH_COMMAND:-$( [[ "${QUICK:-0}" == "1" ]] && echo 'QUICK=1 bash bench/run.sh' || echo 'bash bench/run.sh')}" \
    bash bench/storage.sh
fi

step "Writing $REPORT"
LATCHKEY_BIN="$LATCHKEY_BIN" PEER_BENCH_COPY="$work/peer-bench" \
  BENCH_COMMAND="${BENCH_COMMAND:-$( [[ "${QUICK:-0}" == "1" ]] && echo 'QUICK=1 bash bench/run.sh' || echo 'bash bench/run.sh')}" \
  node bench/report.mjs "$OUT" >"$REPORT.tmp"
mv "$REPORT.tmp" "$REPORT"
echo "wrote $REPORT (raw results in $OUT)" >&2
