#!/usr/bin/env bash
# Proves that the layering check fails on a wrong include: on a temporary copy of src/ and
# cmake/layers.txt, scripts/check-layers.sh first passes, then each case below plants one wrong
# include (or breaks the table), runs the check and requires exit status 1 and the expected
# message; the copy is restored after each case. Then cmake/layers.cmake must accept the table's
# links and reject a link too many or too few (tests/layers/cmake_fixture). Run by ctest
# (layers.self_test) and by `bash scripts/check-layers.sh --self-test`.
#
#   bash tests/layers/self_test.sh [REPO_ROOT]
set -euo pipefail

root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
check=$root/scripts/check-layers.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/cmake"
cp -R "$root/src" "$work/src"
cp "$root/cmake/layers.txt" "$work/cmake/layers.txt"

failures=0
cases=0

if ! out=$(bash "$check" --root "$work" --quiet 2>&1); then
  echo "self-test: the unmodified copy must pass, but:"
  echo "$out"
  exit 1
fi

# expect_failure FILE LINE EXPECTED...: appends LINE to FILE (relative to the copy), runs the
# check, requires exit 1 and every EXPECTED text in the output, then restores FILE.
expect_failure() {
  local file=$1 line=$2
  shift 2
  cases=$((cases + 1))
  cp "$work/$file" "$work/.saved"
  printf '%s\n' "$line" >>"$work/$file"
  local out rc=0
  out=$(bash "$check" --root "$work" --quiet 2>&1) || rc=$?
  mv "$work/.saved" "$work/$file"
  local ok=1
  [[ $rc == 1 ]] || ok=0
  for text in "$@"; do
    [[ $out == *"$text"* ]] || ok=0
  done
  if ((ok)); then
    echo "ok   $file + $line"
    sed 's/^/       /' <<<"$out"
  else
    echo "FAIL $file + $line: exit $rc, expected 1 and: $*"
    sed 's/^/       /' <<<"$out"
    failures=$((failures + 1))
  fi
}

# A module including a module its row does not list (the findings of issue 10, item 4).
expect_failure src/tokens/key_ring.cpp '#include "store/store.hpp"' \
  'src/tokens/key_ring.cpp:' 'tokens -> store: not allowed ("store/store.hpp"'
expect_failure src/oauth/service.hpp '#include "config/config.hpp"' 'oauth -> config: not allowed'
expect_failure src/cli/main.cpp '#include "http/server.hpp"' 'cli -> http: not allowed'
# Upwards: core depends on nothing of ours.
expect_failure src/core/error.cpp '#include "crypto/jws.hpp"' 'core -> crypto: not allowed'
# Folders private to their module.
expect_failure src/api/errors.cpp '#include "store/sqlite/queries.hpp"' \
  'api -> store/sqlite/: "store/sqlite/queries.hpp" is private to store/'
expect_failure src/sessions/clients.cpp '#include "flows/detail/attempt.hpp"' \
  'is private to flows/' 'sessions -> flows: not allowed'
# Confined third-party headers.
expect_failure src/api/errors.cpp '#include <boost/beast/http.hpp>' \
  '<boost/beast/http.hpp> is allowed only in src/http/*.cpp'
expect_failure src/http/router.hpp '#include <boost/asio/io_context.hpp>' 'only in src/http/*.cpp'
expect_failure src/app/app.cpp '#include <CLI/CLI.hpp>' 'allowed only in src/cli/*'
expect_failure src/config/config.hpp '#include <toml++/toml.h>' 'allowed only in src/config/*.cpp'
# Ways around the table.
expect_failure src/flows/policy.cpp '#include "../store/store.hpp"' 'climbs out of its directory'
expect_failure src/tokens/key_ring.cpp '#include <store/store.hpp>' 'tokens -> store: not allowed'
expect_failure src/sessions/views.cpp '#include <api/errors.hpp>' 'sessions -> api: not allowed'
# The table itself: a cycle, and a module without a row.
expect_failure cmake/layers.txt 'core: crypto' 'module core has two rows'
cases=$((cases + 1))
cp "$work/cmake/layers.txt" "$work/.saved"
sed -i 's/^crypto: core$/crypto: core tokens/' "$work/cmake/layers.txt"
rc=0
out=$(bash "$check" --root "$work" --quiet 2>&1) || rc=$?
mv "$work/.saved" "$work/cmake/layers.txt"
if [[ $rc == 1 && $out == *"form a cycle"* ]]; then
  echo "ok   cmake/layers.txt with crypto -> tokens (a cycle)"
else
  echo "FAIL cmake/layers.txt with crypto -> tokens: exit $rc, expected 1 and 'form a cycle'"
  echo "$out"
  failures=$((failures + 1))
fi
cases=$((cases + 1))
mkdir "$work/src/newmodule"
rc=0
out=$(bash "$check" --root "$work" --quiet 2>&1) || rc=$?
rmdir "$work/src/newmodule"
if [[ $rc == 1 && $out == *"src/newmodule/ is not a module of cmake/layers.txt"* ]]; then
  echo "ok   src/newmodule/ without a row"
else
  echo "FAIL src/newmodule/ without a row: exit $rc"
  echo "$out"
  failures=$((failures + 1))
fi

# The CMake side: cmake/layers.cmake on a project with one empty target per module
# (tests/layers/cmake_fixture) accepts the table's links and rejects one too many or too few.
if command -v cmake >/dev/null; then
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  fixture=$root/tests/layers/cmake_fixture
  for mode in none extra missing; do
    cases=$((cases + 1))
    rc=0
    out=$(cmake -S "$fixture" -B "$work/fixture-$mode" "${generator[@]}" \
      -DLATCHKEY_LAYERS_BREAK="${mode/none/}" 2>&1) || rc=$?
    case $mode in
      none) want_rc=0 want='Generating done' ;;
      extra) want_rc=1 want='latchkey_tokens links latchkey_store: tokens -> store is not' ;;
      missing) want_rc=1 want='latchkey_sessions does not link latchkey_tokens' ;;
    esac
    if [[ $rc == "$want_rc" && $out == *"$want"* ]]; then
      echo "ok   cmake/layers.cmake, links: $mode"
      [[ $mode == none ]] || grep -F "$want" <<<"$out" | sed 's/^ */       /'
    else
      echo "FAIL cmake/layers.cmake, links: $mode: exit $rc, expected $want_rc and: $want"
      echo "$out"
      failures=$((failures + 1))
    fi
  done
fi

if ((failures)); then
  echo "self-test: $failures of $cases cases did not fail as they should"
  exit 1
fi
echo "self-test: all $cases cases behave: every wrong include, table and link fails the check"
