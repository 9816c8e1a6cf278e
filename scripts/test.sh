#!/usr/bin/env bash
# Every test: checks the layering, installs what is missing, checks the formatting, builds with warnings as errors, runs
# the unit, contract and integration suites through ctest, then the end-to-end suite (real Clerk
# SDK in Chromium against a real OpenID provider). `.ci/run` runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# Layering first: it needs nothing installed or built, and a wrong include fails in a second
# (cmake/layers.txt; ctest runs it again with its self-test).
echo "== layering (cmake/layers.txt)"
bash scripts/check-layers.sh

bash scripts/install-deps.sh

# The committed clang-format style (.clang-format: Google base, 100 columns) on every C++ file.
echo "== format (clang-format-19)"
bash scripts/check-format.sh

preset=${LATCHKEY_TEST_PRESET:-ci}
jobs=${LATCHKEY_JOBS:-$(nproc)}
echo "== configure ($preset)"
cmake --preset "$preset" >/dev/null
echo "== build"
cmake --build --preset "$preset" -j "$jobs"
echo "== unit, contract and integration tests"
ctest --preset "$preset" -j "$jobs"
echo "== fuzzing: a short, reproducible run of each libFuzzer harness (docs/fuzzing.md)"
FUZZ_FIXED=1 bash scripts/fuzz.sh

# The same store contract suite against PostgreSQL: a throwaway Debian PostgreSQL 15 cluster on
# 127.0.0.1, started and removed by the script (docs/deployment.md).
echo "== store contract tests against PostgreSQL"
bash scripts/pg-test-cluster.sh run -- "build/$preset/tests/contract/store_contract_test" \
  --gtest_brief=1

# The Backend API through the pinned @clerk/backend against the real binary (docs/backend-api.md).
echo "== Backend API tests (@clerk/backend)"
(cd tests/bapi && npm ci --no-audit --no-fund --loglevel=error &&
  LATCHKEY_BIN="$root/build/$preset/src/cli/latchkey" npm test)

if [[ -d e2e && "${LATCHKEY_SKIP_E2E:-0}" != 1 ]]; then
  echo "== end-to-end tests"
  export LATCHKEY_BIN="$root/build/$preset/src/cli/latchkey"
  for d in examples/idp examples/demo examples/mailcatcher e2e; do
    if [[ -f $d/package-lock.json ]]; then
      (cd "$d" && npm ci --no-audit --no-fund --loglevel=error)
    fi
  done
  (cd examples/demo && npm run build --silent)
  # The mail catcher the first-factor tests read their codes from: its own tests first (a few seconds).
  (cd examples/mailcatcher && npm test --silent)
  (cd e2e && npm test)
fi

# Several nodes on one PostgreSQL behind nginx: the OAuth flow across nodes, a node killed with
# SIGKILL and PostgreSQL restarted mid-run, no lost or duplicated user (docs/deployment.md).
if [[ "${LATCHKEY_SKIP_SOAK:-0}" != 1 ]]; then
  # 60 s of bench/soak.sh's mix at 70 % of capacity: no error, no descriptor left behind.
  echo "== soak, short (bench/soak.sh, 60 s)"
  LATCHKEY_BIN="$root/build/$preset/src/cli/latchkey" NO_REPORT=1 DURATION=60 \
    OUT="$root/build/$preset/soak" bash bench/soak.sh
fi

if [[ "${LATCHKEY_SKIP_MULTINODE:-0}" != 1 ]]; then
  echo "== multi-node test (PostgreSQL, two nodes, nginx)"
  if [[ ! -d examples/idp/node_modules ]]; then
    (cd examples/idp && npm ci --no-audit --no-fund --loglevel=error)
  fi
  LATCHKEY_BIN="$root/build/$preset/src/cli/latchkey" bash scripts/multinode-test.sh
fi

# The Debian package: build, dpkg -i, systemd-analyze verify, start the installed binary as the
# unit's user, /readyz, purge (docs/deployment.md). dpkg needs root.
if [[ $(id -u) -eq 0 && "${LATCHKEY_SKIP_PACKAGE:-0}" != 1 ]]; then
  echo "== Debian package (scripts/package-test.sh)"
  # The tree just built and tested is packaged (a separate Release build would double the CI time).
  PACKAGE_BUILD_DIR="build/$preset" bash scripts/package-test.sh
else
  echo "== Debian package: skipped (scripts/package-test.sh needs root; LATCHKEY_SKIP_PACKAGE=1 skips it)"
fi
