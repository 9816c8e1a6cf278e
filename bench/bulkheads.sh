#!/usr/bin/env bash
# bench/bulkheads.sh — issue 15 item 1's figure: the p99 of session checks and token refreshes of a
# signed-in browser, unloaded and while 50 OAuth callbacks hang on a token endpoint that never
# answers, and their ratio (bench/bulkheads.mjs does the work; Node only, no npm packages).
#
#   bash bench/bulkheads.sh                          # the binary of the ci preset
#   LATCHKEY_BIN=build/bench/src/cli/latchkey bash bench/bulkheads.sh
#
# Env: LATCHKEY_BIN, N (2000 requests per phase and kind), CONC (4), HANGING (50), WORKERS (2),
# OUTBOUND_WORKERS (64). Prints a JSON line and the Markdown table of docs/benchmarks.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export LATCHKEY_BIN="${LATCHKEY_BIN:-$root/build/ci/src/cli/latchkey}"
[[ -x "$LATCHKEY_BIN" ]] || { echo "bench/bulkheads.sh: no binary at $LATCHKEY_BIN (build it first)" >&2; exit 2; }
command -v node >/dev/null || { echo "bench/bulkheads.sh: node is missing" >&2; exit 2; }
exec node bench/bulkheads.mjs
