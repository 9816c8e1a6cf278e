#!/usr/bin/env bash
# bench/storage.sh — storage benchmark (issue 4 item 6): session check and token refresh on one
# node with SQLite, one node with PostgreSQL, nginx in front of one node (the proxy's own cost) and
# two nodes on one PostgreSQL behind nginx (round robin), plus one node with server.workers = 4 (as
# many workers as the two nodes together); req/s, p50/p99 and CPU per request of
# Latchkey, PostgreSQL and nginx; PostgreSQL statements per request. ~3 minutes.
#
#   bash bench/storage.sh            # builds, runs, writes the section into docs/benchmarks.md
#   QUICK=1 bash bench/storage.sh    # development: wrk 3 s, 32 sessions (~1.5 min)
#
# bench/run.sh calls it before writing the report (STORAGE=0 there skips it); bench/report.mjs then
# renders the section from $OUT/results-storage.json. Run alone, this script splices the section
# into the existing $REPORT (between its storage markers, or before the hand-written profiles) and
# leaves the rest of the report as it is.
#
# Env: BUILD_DIR (default build/bench), OUT (default $BUILD_DIR/results), PEER_BENCH (the peer
# harness, default ../shared/peer-bench: its IdP and flow driver make the sessions), REPORT
# (default docs/benchmarks.md), PEER_CPU (0: the Latchkey nodes) / LOAD_CPU (1: wrk, PostgreSQL,
# nginx, the IdP), NODE_CPUS (default $PEER_CPU; "0,1" puts the second node on cpu 1), SCENARIOS
# (default sqlite-1,pg-1,pg-1-w4,pg-1-nginx,pg-2-nginx; also pg-1-w8), WRK_SECS (10), WRK_CONN (64),
# REFRESH_SESSIONS (128), STORAGE_EMBEDDED=1 (set by bench/run.sh: no build, no harness set-up, no
# splice). Needs PostgreSQL 15 (Debian's postgresql), nginx, wrk, node, taskset, openssl.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if [[ "${QUICK:-0}" == "1" ]]; then
  : "${WRK_SECS:=3}" "${REFRESH_SESSIONS:=32}"
fi
export WRK_SECS="${WRK_SECS:-10}" WRK_CONN="${WRK_CONN:-64}" REFRESH_SESSIONS="${REFRESH_SESSIONS:-128}" \
  PEER_CPU="${PEER_CPU:-0}" LOAD_CPU="${LOAD_CPU:-1}"
export NODE_CPUS="${NODE_CPUS:-$PEER_CPU}"
export SCENARIOS="${SCENARIOS:-sqlite-1,pg-1,pg-1-w4,pg-1-nginx,pg-2-nginx}"
PEER_BENCH="${PEER_BENCH:-$(cd "$root/.." && pwd)/shared/peer-bench}"
BUILD_DIR="${BUILD_DIR:-$root/build/bench}"
OUT="${OUT:-$BUILD_DIR/results}"
REPORT="${REPORT:-$root/docs/benchmarks.md}"
EMBEDDED="${STORAGE_EMBEDDED:-0}"
NGINX_BIN="${NGINX_BIN:-/usr/sbin/nginx}"
PG_BIN="${LATCHKEY_PG_BIN:-/usr/lib/postgresql/15/bin}"
LATCHKEY_BIN="$BUILD_DIR/src/cli/latchkey"
work="$BUILD_DIR/peer-bench-work"
copy="$work/peer-bench"

step() { printf '\n==> %s\n' "$*" >&2; }

for tool in cmake ninja node npm wrk taskset openssl psql "$NGINX_BIN" "$PG_BIN/initdb"; do
  command -v "$tool" >/dev/null || { echo "bench/storage.sh: '$tool' is missing (bash scripts/install-deps.sh)" >&2; exit 2; }
done

if [[ "$EMBEDDED" != "1" ]]; then
  [[ -f "$PEER_BENCH/package-lock.json" ]] || { echo "bench/storage.sh: peer harness not found at $PEER_BENCH (set PEER_BENCH)" >&2; exit 2; }
  step "Building latchkey (Release) in $BUILD_DIR"
  cmake -S "$root" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLATCHKEY_BENCH=ON \
    -DLATCHKEY_TESTS=OFF >/dev/null
  cmake --build "$BUILD_DIR" --target latchkey -j2

  # The same copy of the harness bench/run.sh prepares (node_modules reused while the lock is unchanged).
  step "Preparing a copy of the peer harness in $copy"
  mkdir -p "$copy"
  (cd "$PEER_BENCH" && tar --exclude=./node_modules --exclude=./results -cf - .) | (cd "$copy" && tar -xf -)
  chmod -R u+w "$copy"
  if ! cmp -s "$copy/package-lock.json" "$copy/node_modules/.bench-lock.json"; then
    step "npm ci in the harness copy (1-4 min)"
    (cd "$copy" && npm ci --no-audit --no-fund --loglevel=error >&2)
    cp "$copy/package-lock.json" "$copy/node_modules/.bench-lock.json"
  fi
fi
[[ -x "$LATCHKEY_BIN" ]] || { echo "bench/storage.sh: $LATCHKEY_BIN not built" >&2; exit 2; }
[[ -d "$copy/node_modules/undici" ]] || { echo "bench/storage.sh: no harness copy with node_modules at $copy" >&2; exit 2; }
cp bench/peer/refresh.lua "$copy/bench/refresh.lua"
cp bench/peer/lib/flow.mjs "$copy/lib/flow-latchkey.mjs"
cp bench/peer/latchkey.mjs "$copy/targets/latchkey.mjs"
cp bench/storage/run.mjs "$copy/bench/storage-latchkey.mjs"
cp bench/storage/render.mjs "$copy/bench/storage-render.mjs"
mkdir -p "$OUT"

storage_work="$BUILD_DIR/storage-work"
pg_dir=$(mktemp -d /tmp/latchkey-bench-pg-XXXXXX)
cleanup() {
  bash "$root/scripts/pg-test-cluster.sh" stop "$pg_dir" >/dev/null 2>&1 || true
  rm -rf "$storage_work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "PostgreSQL 15 (scripts/pg-test-cluster.sh), pinned to cpu $LOAD_CPU"
pg_url=$(taskset -c "$LOAD_CPU" bash scripts/pg-test-cluster.sh start "$pg_dir" | sed -n 's/^LATCHKEY_TEST_PG_URL=//p')
[[ -n "$pg_url" ]] || { echo "bench/storage.sh: PostgreSQL did not start" >&2; exit 1; }

step "Storage scenarios ($SCENARIOS; nodes on cpu $NODE_CPUS, load on cpu $LOAD_CPU, wrk ${WRK_SECS}s c=$WRK_CONN)"
command_line="${STORAGE_COMMAND:-$([[ "${QUICK:-0}" == "1" ]] && echo 'QUICK=1 bash bench/storage.sh' || echo 'bash bench/storage.sh')}"
(cd "$copy" && env OUT="$OUT" STORAGE_WORK="$storage_work" LATCHKEY_BIN="$LATCHKEY_BIN" NGINX_BIN="$NGINX_BIN" \
  PG_URL="$pg_url" PG_DIR="$pg_dir" ENC_KEY="$(openssl rand -base64 32)" STORAGE_COMMAND="$command_line" \
  taskset -c "$LOAD_CPU" node bench/storage-latchkey.mjs)

if [[ "$EMBEDDED" != "1" ]]; then
  node bench/storage/splice.mjs "$OUT" "$REPORT"
fi
