#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing, benchmarking and the demo need.
# Idempotent: packages already present are skipped by apt. Nothing is fetched from anywhere
# but Debian's archive (and, for tests/examples only, the npm registry via `npm ci`).
set -euo pipefail

packages=(
  # toolchain
  build-essential g++ cmake ninja-build ccache mold pkg-config git clang-format-19
  # libraries (design.md §1)
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libssl-dev libsqlite3-dev libsodium-dev libcurl4-openssl-dev
  libcli11-dev libtomlplusplus-dev libspdlog-dev libfmt-dev liboath-dev libpq-dev
  # passwords: bcrypt import (libxcrypt), strength estimate (zxcvbn-c)
  libcrypt-dev libzxcvbn-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev sqlite3 curl procps wrk hyperfine
  # a real SMTP server on 127.0.0.1 for the delivery tests (tests/support/smtp_sink.py)
  python3-aiosmtpd
  # fuzzing (scripts/fuzz.sh): clang with libFuzzer + sanitizer runtimes. clang-19, not 14: the
  # code uses std::expected, and libstdc++ 12's <expected> needs clang >= 16 (docs/fuzzing.md)
  clang-19 libclang-rt-19-dev
  # PostgreSQL contract and multi-node tests: a throwaway server, a load balancer in front
  postgresql nginx
  # the Debian package test (scripts/package-test.sh): shlibdeps, systemd-analyze, setpriv
  dpkg-dev systemd util-linux
  # end-to-end tests and the demo: Node.js, Debian's Chromium
  nodejs chromium
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages (run as root): ${missing[*]}" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
