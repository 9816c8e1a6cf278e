#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests, from Debian's `postgresql` package (initdb + pg_ctl),
# in a temporary directory, listening on 127.0.0.1 and a free port only. Nothing of the system's
# own clusters is touched.
#
#   scripts/pg-test-cluster.sh run [--] CMD ARGS...   start, run CMD with LATCHKEY_TEST_PG_URL set,
#                                                     stop and delete the cluster (trap), exit CMD's status
#   scripts/pg-test-cluster.sh start [DIR]            start (or find running) in DIR; prints
#                                                     LATCHKEY_TEST_PG_URL=... and the stop command
#   scripts/pg-test-cluster.sh stop DIR               stop the cluster in DIR and delete DIR
#   scripts/pg-test-cluster.sh restart DIR            stop and start again on the same port (tests
#                                                     of "PostgreSQL restarted mid-run")
#
# initdb refuses to run as root: as root, the cluster belongs to the `postgres` user (Debian's
# package creates it), or to `nobody` when that user is missing. Authentication is `trust` on
# 127.0.0.1 only: this cluster is for tests and must never hold real data.
set -euo pipefail

pg_bin=${LATCHKEY_PG_BIN:-/usr/lib/postgresql/15/bin}
if [[ ! -x $pg_bin/initdb ]]; then
  echo "pg-test-cluster: $pg_bin/initdb not found (apt-get install postgresql)" >&2
  exit 2
fi

owner=""
if [[ $(id -u) -eq 0 ]]; then
  if id postgres >/dev/null 2>&1; then
    owner=postgres
  else
    owner=nobody
  fi
fi

as_owner() {
  if [[ -n $owner ]]; then
    runuser -u "$owner" -- "$@"
  else
    "$@"
  fi
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 30000))
    if port_free "$p"; then
      echo "$p"
      return 0
    fi
  done
  echo "pg-test-cluster: no free port found" >&2
  return 1
}

url_of() {
  echo "postgres://latchkey@127.0.0.1:$(cat "$1/port")/latchkey"
}

running() {
  [[ -f $1/data/postmaster.pid ]] && as_owner "$pg_bin/pg_ctl" -D "$1/data" status >/dev/null 2>&1
}

start_cluster() {
  local dir=$1
  if [[ -f $dir/port ]] && running "$dir"; then
    return 0  # idempotent: already up
  fi
  mkdir -p "$dir"
  if [[ -n $owner ]]; then
    chown "$owner" "$dir"
  fi
  chmod 700 "$dir"
  if [[ ! -f $dir/data/PG_VERSION ]]; then
    as_owner "$pg_bin/initdb" -D "$dir/data" -U latchkey -A trust -E UTF8 --locale=C.UTF-8 \
      >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2
      return 1
    }
  fi
  local port
  if [[ -f $dir/port ]] && port_free "$(cat "$dir/port")"; then
    port=$(cat "$dir/port")
  else
    port=$(pick_port)
    echo "$port" >"$dir/port"
  fi
  # Durability off: a test cluster trades crash safety for speed. Sockets stay in the cluster dir.
  as_owner "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start -o \
    "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c fsync=off \
     -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null || {
    tail -n 30 "$dir/server.log" >&2
    return 1
  }
  if ! as_owner "$pg_bin/psql" -h 127.0.0.1 -p "$port" -U latchkey -d postgres -Atqc \
    "SELECT 1 FROM pg_database WHERE datname = 'latchkey'" | grep -q 1; then
    as_owner "$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U latchkey latchkey
  fi
}

stop_cluster() {
  local dir=$1
  if [[ -f $dir/data/postmaster.pid ]]; then
    as_owner "$pg_bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
  fi
}

cmd=${1:-run}
shift || true
case $cmd in
  start)
    dir=${1:-$(mktemp -d /tmp/latchkey-pg-XXXXXX)}
    start_cluster "$dir"
    echo "LATCHKEY_TEST_PG_URL=$(url_of "$dir")"
    echo "stop: $0 stop $dir"
    ;;
  stop)
    dir=${1:?usage: $0 stop DIR}
    stop_cluster "$dir"
    rm -rf "$dir"
    ;;
  restart)
    dir=${1:?usage: $0 restart DIR}
    stop_cluster "$dir"
    start_cluster "$dir"
    ;;
  run)
    if [[ ${1:-} == -- ]]; then
      shift
    fi
    if (($# == 0)); then
      echo "usage: $0 run [--] CMD ARGS..." >&2
      exit 2
    fi
    dir=$(mktemp -d /tmp/latchkey-pg-XXXXXX)
    trap 'stop_cluster "$dir"; rm -rf "$dir"' EXIT INT TERM
    start_cluster "$dir"
    export LATCHKEY_TEST_PG_URL
    LATCHKEY_TEST_PG_URL=$(url_of "$dir")
    export LATCHKEY_TEST_PG_DIR=$dir
    set +e
    "$@"
    status=$?
    set -e
    exit $status
    ;;
  *)
    echo "usage: $0 run [--] CMD... | start [DIR] | stop DIR | restart DIR" >&2
    exit 2
    ;;
esac
