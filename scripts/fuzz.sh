#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/) with clang, ASan + UBSan into build/fuzz and runs each
# for FUZZ_SECONDS (default 15; CI runs the default). Exits non-zero on any crash, sanitizer
# report, leak, timeout or out-of-memory, and prints the reproducer. docs/fuzzing.md has the rest.
#
#   FUZZ_SECONDS=600 bash scripts/fuzz.sh            # longer runs
#   FUZZ_TARGETS="id_token redirect" bash scripts/fuzz.sh
#   build/fuzz/fuzz_id_token build/fuzz/artifacts/id_token-crash-...   # reproduce one input
#
# Reproducible mode (what scripts/test.sh and so CI run): FUZZ_FIXED=1 runs each harness for a
# fixed number of inputs (about 8 s each on a 2-core machine) from the committed seeds only, with
# the fixed seed, so the same commit gives the same verdict everywhere; a finding there is a real
# bug that any machine reproduces. Exploration (default, time-boxed, builds on earlier runs) is
# how findings are made before they land:
#   FUZZ_SECONDS=300 FUZZ_SEED=0 bash scripts/fuzz.sh
#
# Environment: FUZZ_FIXED, FUZZ_SECONDS, FUZZ_TARGETS (default: all), FUZZ_PARALLEL (harnesses at once,
# default nproc), FUZZ_SEED (default 1337 as in OSS-Fuzz CIFuzz; 0 = random), FUZZ_CXX (default
# clang++-19: libstdc++ 12's std::expected needs clang >= 16, see docs/fuzzing.md), LATCHKEY_JOBS.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds=${FUZZ_SECONDS:-15}
seed=${FUZZ_SEED:-1337}
cxx=${FUZZ_CXX:-clang++-19}
jobs=${LATCHKEY_JOBS:-$(nproc)}
parallel=${FUZZ_PARALLEL:-$(nproc)}
all_targets="json jws jwks id_token discovery cookies form router redirect attempts csv"
targets=${FUZZ_TARGETS:-$all_targets}
build="$root/build/fuzz"

if ! command -v "$cxx" >/dev/null; then
  echo "fuzz: $cxx not found (scripts/install-deps.sh installs clang-19 and libclang-rt-19-dev)" >&2
  exit 1
fi

# Inputs per harness in FUZZ_FIXED mode: about half of what one core runs in 15 s under ASan.
runs_for() {
  case $1 in
    json) echo 600000 ;;
    jws) echo 1000000 ;;
    jwks) echo 350000 ;;
    id_token) echo 80000 ;;
    discovery) echo 600000 ;;
    cookies) echo 300000 ;;
    form) echo 200000 ;;
    router) echo 450000 ;;
    redirect) echo 250000 ;;
    attempts) echo 550000 ;;
    csv) echo 400000 ;;
    *) echo "fuzz: unknown target $1" >&2; exit 1 ;;
  esac
}

# The dictionary each harness gets (fuzz/dict/).
dict_for() {
  case $1 in
    json) echo json ;;
    jws | jwks | id_token) echo jose ;;
    discovery) echo discovery ;;
    cookies | form | router) echo http ;;
    redirect) echo url ;;
    attempts) echo attempts ;;
    csv) echo csv ;;
    *) echo "fuzz: unknown target $1" >&2; exit 1 ;;
  esac
}

echo "== fuzz: build ($cxx, ASan + UBSan + libFuzzer) into build/fuzz"
cmake -S fuzz -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" >/dev/null
build_targets=()
for t in $targets; do
  dict_for "$t" >/dev/null
  build_targets+=("fuzz_$t")
done
cmake --build "$build" -j "$jobs" --target "${build_targets[@]}"

mkdir -p "$build/artifacts" "$build/logs"
# One harness: the committed seeds (read-only) plus a working corpus kept in build/fuzz/corpus,
# so repeated local runs build on earlier ones. New inputs go to the working corpus only.
run_one() {
  local t=$1 work="$build/corpus/$1" log="$build/logs/$1.log" budget
  if [[ ${FUZZ_FIXED:-0} == 1 ]]; then
    # A fresh working corpus and a count, not a clock: the same inputs on every machine.
    work="$build/fixed-corpus/$1"
    rm -rf "$work"
    budget=(-runs="$(runs_for "$t")" -max_total_time=120 -reload=0)
  else
    budget=(-max_total_time="$seconds")
  fi
  mkdir -p "$work"
  # Limits (security catalog §3.4): a parser needing more than this per input is a DoS bug.
  # -timeout is per input (sanitizers slow things ~3x; the 100 ms target is checked in docs).
  "$build/fuzz_$t" "$work" "fuzz/corpus/$t" \
    -dict="fuzz/dict/$(dict_for "$t").dict" \
    "${budget[@]}" -seed="$seed" -timeout=10 -rss_limit_mb=1024 \
    -malloc_limit_mb=256 -max_len=16384 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$t-" >"$log" 2>&1
}

if [[ ${FUZZ_FIXED:-0} == 1 ]]; then
  echo "== fuzz: a fixed number of inputs per harness (seed $seed), $parallel at a time: $targets"
else
  echo "== fuzz: ${seconds}s per harness, $parallel at a time: $targets"
fi
declare -A pids=()
failed=()
finish() {
  local t=$1 pid=$2
  if wait "$pid"; then
    local stats
    stats=$(grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)' "$build/logs/$t.log" |
      sed 's/stat:://; s/  */ /g' | tr '\n' ' ')
    local cov
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$build/logs/$t.log" | tail -1)
    echo "fuzz: $t ok ($cov; $stats)"
  else
    failed+=("$t")
    echo "fuzz: $t FAILED; log build/fuzz/logs/$t.log" >&2
    grep -E 'ERROR: |runtime error|FUZZ_CHECK|SUMMARY' "build/fuzz/logs/$t.log" | head -5 >&2 || true
    local artifact
    artifact=$(grep -oE "Test unit written to [^ ]+" "$build/logs/$t.log" | tail -1 |
      sed 's/Test unit written to //')
    if [[ -n $artifact ]]; then
      echo "fuzz: reproducer: $artifact" >&2
      echo "fuzz: reproduce with: build/fuzz/fuzz_$t $artifact" >&2
    fi
  fi
}

for t in $targets; do
  while ((${#pids[@]} >= parallel)); do
    sleep 1
    for d in "${!pids[@]}"; do
      if ! kill -0 "${pids[$d]}" 2>/dev/null; then
        finish "$d" "${pids[$d]}"
        unset "pids[$d]"
      fi
    done
  done
  run_one "$t" &
  pids[$t]=$!
done
for d in "${!pids[@]}"; do
  finish "$d" "${pids[$d]}"
done

if ((${#failed[@]} > 0)); then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: all harnesses clean"
