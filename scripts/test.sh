#!/usr/bin/env bash
# Every test: installs what is missing, builds with warnings as errors, runs the unit, contract and
# integration suites through ctest, then the end-to-end suite (real Clerk SDK in Chromium against a
# real OpenID provider). `.ci/run` runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash scripts/install-deps.sh

preset=${LATCHKEY_TEST_PRESET:-ci}
jobs=${LATCHKEY_JOBS:-$(nproc)}
echo "== configure ($preset)"
cmake --preset "$preset" >/dev/null
echo "== build"
cmake --build --preset "$preset" -j "$jobs"
echo "== unit, contract and integration tests"
ctest --preset "$preset" -j "$jobs"

if [[ -d e2e && "${LATCHKEY_SKIP_E2E:-0}" != 1 ]]; then
  echo "== end-to-end tests"
  export LATCHKEY_BIN="$root/build/$preset/src/cli/latchkey"
  for d in examples/idp examples/demo e2e; do
    if [[ -f $d/package-lock.json ]]; then
      (cd "$d" && npm ci --no-audit --no-fund --loglevel=error)
    fi
  done
  (cd examples/demo && npm run build --silent)
  (cd e2e && npm test)
fi
