#!/usr/bin/env bash
# scripts/package-test.sh — builds the Debian package (cmake/Package.cmake, packaging/deb/),
# installs it with dpkg -i, checks the unit with systemd-analyze verify, starts the installed
# binary as the unit would (user latchkey, the packaged config, the state directory, no
# capabilities, no new privileges; there is no systemd PID 1 on CI), waits for /readyz, stops it
# and purges the package. Needs root (dpkg); leaves the system as it found it but for the
# `latchkey` system user (Debian practice).
#
#   sudo bash scripts/package-test.sh                       # release build in build/package
#   PACKAGE_BUILD_DIR=build/ci bash scripts/package-test.sh # package an existing build tree
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [[ $(id -u) -ne 0 ]]; then
  echo "package-test: needs root (dpkg -i / --purge); skipped" >&2
  exit 0
fi
for tool in cmake cpack dpkg dpkg-deb dpkg-shlibdeps systemd-analyze setpriv curl python3; do
  command -v "$tool" >/dev/null || { echo "package-test: '$tool' is missing (bash scripts/install-deps.sh)" >&2; exit 2; }
done
if dpkg -s latchkey >/dev/null 2>&1; then
  echo "package-test: a latchkey package is already installed; not touching it" >&2
  exit 2
fi

build=${PACKAGE_BUILD_DIR:-build/package}
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLATCHKEY_STATIC_DEPS=ON \
    -DLATCHKEY_TESTS=OFF >/dev/null
fi
echo "== build latchkey ($build)"
cmake --build "$build" --target latchkey -j "${LATCHKEY_JOBS:-2}"
echo "== cpack -G DEB"
(cd "$build" && cpack -G DEB >/dev/null)
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
deb="$build/latchkey_${version}_amd64.deb"
[[ -f "$deb" ]] || { echo "package-test: $deb was not made" >&2; exit 1; }
echo "== $deb"
dpkg-deb --field "$deb" Package Version Architecture Depends Recommends Installed-Size
dpkg-deb --contents "$deb"

pid=""
cleanup() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  dpkg --purge latchkey >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== dpkg -i"
dpkg -i "$deb"
test -x /usr/bin/latchkey
command -v latchkey >/dev/null
getent passwd latchkey >/dev/null
[[ "$(stat -c '%U %a' /var/lib/latchkey)" == "latchkey 700" ]]
[[ "$(stat -c '%U:%G %a' /etc/latchkey/latchkey.toml)" == "root:latchkey 640" ]]
dpkg-query -W -f='${Conffiles}\n' latchkey | grep -q /etc/latchkey/latchkey.toml
unit=/lib/systemd/system/latchkey.service
[[ -f "$unit" ]] || unit=/usr/lib/systemd/system/latchkey.service

echo "== systemd-analyze verify"
systemd-analyze verify "$unit"
echo "== systemd-analyze security (exposure; informational)"
systemd-analyze security --offline=true "$unit" 2>/dev/null | tail -1 || true

# The unit's ExecStart, run as its user with its environment: a free port instead of 8787 (a
# busy CI machine), everything else from the packaged /etc/latchkey/latchkey.toml.
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "== start: $exec_start (user latchkey, port $port)"
log=$(mktemp)
(
  umask 0077
  cd /var/lib/latchkey
  exec env -i PATH=/usr/bin:/bin HOME=/var/lib/latchkey \
    LATCHKEY_SERVER_LISTEN="127.0.0.1:$port" LATCHKEY_SERVER_PUBLIC_URL="http://127.0.0.1:$port" \
    setpriv --reuid=latchkey --regid=latchkey --init-groups --no-new-privs --inh-caps=-all \
    --bounding-set=-all -- $exec_start
) >"$log" 2>&1 &
pid=$!
ready=""
for _ in $(seq 1 300); do
  if code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz") && [[ "$code" == 200 ]]; then
    ready=1
    break
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.2
done
if [[ -z "$ready" ]]; then
  echo "package-test: /readyz did not answer 200" >&2
  cat "$log" >&2
  exit 1
fi
echo "/readyz: 200"
[[ "$(stat -c '%U' /var/lib/latchkey/latchkey.db)" == latchkey ]]
[[ "$(stat -c '%U %a' /var/lib/latchkey/master.key)" == "latchkey 600" ]]
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
[[ $rc -eq 0 ]] || { echo "package-test: latchkey exited $rc on SIGTERM" >&2; cat "$log" >&2; exit 1; }
rm -f "$log"

echo "== dpkg --purge"
dpkg --purge latchkey
[[ ! -e /usr/bin/latchkey && ! -e /etc/latchkey && ! -e /var/lib/latchkey ]]
trap - EXIT
echo "package-test: ok"
