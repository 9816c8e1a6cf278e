#!/usr/bin/env bash
# Multi-node test (docs/deployment.md §2): a throwaway PostgreSQL 15 (scripts/pg-test-cluster.sh),
# two Latchkey nodes sharing it, nginx from Debian in front (round robin, the documented config plus
# a test-only X-Upstream header, without TLS), the local OpenID provider (examples/idp). Then:
#   1. the seed's OAuth flow through the balancer, the provider callback landing on the other node;
#   2. flows back to back while one node is killed with SIGKILL;
#   3. flows back to back while PostgreSQL is restarted (the nodes keep running: /readyz and the API
#      answer 503 while it is down, and serve again when it is back);
# and checks that every completed flow has exactly one user, and no email has two. Then:
#   4. rate limits hold across nodes: two more nodes with a low limit, hit alternately, refuse at
#      the limit with the counters in PostgreSQL (ratelimit.counters = auto), and only at twice
#      the limit with per-node counters in memory (which shows the probe can tell them apart).
# Everything binds 127.0.0.1; everything started here is stopped by the trap (by pid).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
preset=${LATCHKEY_TEST_PRESET:-ci}
bin=${LATCHKEY_BIN:-$root/build/$preset/src/cli/latchkey}
nginx_bin=${NGINX_BIN:-/usr/sbin/nginx}

for need in "$bin" "$nginx_bin" "$root/examples/idp/node_modules/oidc-provider"; do
  if [[ ! -e $need ]]; then
    echo "multinode: missing $need (build latchkey, apt-get install nginx, npm ci in examples/idp)" >&2
    exit 2
  fi
done

work=$(mktemp -d /tmp/latchkey-multinode-XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  bash "$root/scripts/pg-test-cluster.sh" stop "$work/pg" >/dev/null 2>&1 || true
  if ((status != 0)); then
    echo "multinode: FAILED; last log lines:" >&2
    for f in "$work"/*.log "$work"/nginx/error.log; do
      [[ -f $f ]] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }
    done
  fi
  if [[ ${MULTINODE_KEEP:-0} != 1 ]]; then
    rm -rf "$work"
  else
    echo "multinode: kept $work" >&2
  fi
  exit $status
}
trap cleanup EXIT INT TERM

taken=" "
free_port() {  # var: sets it to a port nothing listens on and that no earlier call handed out
  local p
  for _ in $(seq 1 200); do
    # Below Linux's ephemeral range (32768-60999): an outbound connection of any process (curl,
    # a PostgreSQL client, another test) cannot take it between this check and the bind.
    p=$((20000 + RANDOM % 12000))
    if [[ $taken != *" $p "* ]] && ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      taken+="$p "
      printf -v "$1" '%s' "$p"
      return
    fi
  done
  return 1
}

wait_http() {  # url, what, [pid]
  for _ in $(seq 1 150); do
    if curl -fs -o /dev/null --max-time 2 "$1" 2>/dev/null; then
      return 0
    fi
    if [[ -n ${3:-} ]] && ! kill -0 "$3" 2>/dev/null; then
      echo "multinode: $2 exited" >&2
      return 1
    fi
    sleep 0.2
  done
  echo "multinode: $2 did not answer at $1" >&2
  return 1
}

echo "== PostgreSQL"
pg_url=$(bash scripts/pg-test-cluster.sh start "$work/pg" | sed -n 's/^LATCHKEY_TEST_PG_URL=//p')
free_port port_a; free_port port_b; free_port port_lb; free_port port_idp
lb="http://127.0.0.1:$port_lb"
client_secret="mn-secret-$$-$RANDOM"
encryption_key=$(openssl rand -base64 32)

echo "== identity provider"
(cd examples/idp && IDP_PORT=$port_idp IDP_CLIENT_ID=latchkey-mn IDP_CLIENT_SECRET=$client_secret \
  IDP_REDIRECT_URIS="$lb/__clerk/v1/oauth_callback" IDP_TOKEN_AUTH=client_secret_post \
  exec node idp.mjs >"$work/idp.log" 2>&1) &
pids+=($!)
wait_http "http://127.0.0.1:$port_idp/.well-known/openid-configuration" "the IdP" $!

start_node() {  # name port [VAR=value ...]: extra variables override the defaults; sets node_pid
  mkdir -p "$work/$1"
  env LATCHKEY_SERVER_LISTEN="127.0.0.1:$2" LATCHKEY_SERVER_PUBLIC_URL="$lb" \
    LATCHKEY_SERVER_WORKERS=4 \
    LATCHKEY_STORAGE_DATABASE_URL="$pg_url" LATCHKEY_STORAGE_DATA_DIR="$work/$1" \
    LATCHKEY_KEYS_ENCRYPTION_KEY="$encryption_key" LATCHKEY_LOGGING_FORMAT=json \
    LATCHKEY_RATELIMIT_ENABLED=false \
    LATCHKEY_PROVIDERS_OAUTH_GOOGLE_CLIENT_ID=latchkey-mn \
    LATCHKEY_PROVIDERS_OAUTH_GOOGLE_CLIENT_SECRET="$client_secret" \
    LATCHKEY_PROVIDERS_OAUTH_GOOGLE_ISSUER="http://127.0.0.1:$port_idp" \
    LATCHKEY_PROVIDERS_OAUTH_GOOGLE_TOKEN_AUTH_METHOD=client_secret_post \
    "${@:3}" "$bin" serve >>"$work/$1.log" 2>&1 &
  node_pid=$!
  pids+=("$node_pid")
}

echo "== two Latchkey nodes on one database (started at once: their migrations race safely)"
start_node a "$port_a"; pid_a=$node_pid
start_node b "$port_b"; pid_b=$node_pid
wait_http "http://127.0.0.1:$port_a/readyz" "Latchkey node a" "$pid_a"
wait_http "http://127.0.0.1:$port_b/readyz" "Latchkey node b" "$pid_b"

echo "== nginx (round robin)"
mkdir -p "$work/nginx/tmp"
cat >"$work/nginx/nginx.conf" <<CONF
# The upstream and location blocks are docs/deployment.md's, without TLS, plus X-Upstream.
worker_processes 1;
daemon off;
master_process off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 512; }
http {
    access_log $work/nginx/access.log;
    client_body_temp_path $work/nginx/tmp/body;
    proxy_temp_path $work/nginx/tmp/proxy;
    fastcgi_temp_path $work/nginx/tmp/fastcgi;
    uwsgi_temp_path $work/nginx/tmp/uwsgi;
    scgi_temp_path $work/nginx/tmp/scgi;
    upstream latchkey {
        server 127.0.0.1:$port_a max_fails=1 fail_timeout=5s;
        server 127.0.0.1:$port_b max_fails=1 fail_timeout=5s;
        keepalive 32;
    }
    server {
        listen 127.0.0.1:$port_lb;
        client_max_body_size 64k;
        location / {
            proxy_pass http://latchkey;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Request-Id \$request_id;
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
            proxy_read_timeout 30s;
            add_header X-Upstream \$upstream_addr always;
        }
    }
}
CONF
"$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" &
pid_nginx=$!
pids+=("$pid_nginx")
wait_http "$lb/healthz" "nginx" "$pid_nginx"

export LB=$lb RESULTS=$work/results.txt TAG=$$-$RANDOM
: >"$RESULTS"
driver="$root/tests/multinode/flow.mjs"

echo "== 1. the seed flow through the balancer, callback on the other node"
node "$driver" cross 4

# Waits until `n` flows of `label` have completed (so a disturbance lands mid-run).
wait_flows() {  # label n pid
  for _ in $(seq 1 600); do
    if (($(grep -c "^$1-" "$RESULTS" || true) >= $2)); then
      return 0
    fi
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

echo "== 2. flows continue while node b is killed with SIGKILL"
node "$driver" load 40 kill >"$work/load-kill.log" 2>&1 &
pid_load=$!
wait_flows kill 8 "$pid_load"
kill -KILL "$pid_b"
wait "$pid_b" 2>/dev/null || true
echo "killed node b (pid $pid_b) after $(grep -c '^kill-' "$RESULTS") flows"
if ! wait "$pid_load"; then
  cat "$work/load-kill.log" >&2
  exit 1
fi
tail -n 1 "$work/load-kill.log"

echo "== 3. PostgreSQL restarted mid-run (node a keeps running)"
node "$driver" load 40 pgrestart >"$work/load-pg.log" 2>&1 &
pid_load=$!
wait_flows pgrestart 8 "$pid_load"
pg_ctl=/usr/lib/postgresql/15/bin/pg_ctl
pg_as=()
if [[ $(id -u) -eq 0 ]]; then
  pg_as=(runuser -u postgres --)
fi
"${pg_as[@]}" "$pg_ctl" -D "$work/pg/data" -m fast -w stop >/dev/null
echo "stopped PostgreSQL after $(grep -c '^pgrestart-' "$RESULTS") flows"
t0=$(date +%s%N)
ready=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$port_a/readyz")
api=$(curl -s -w ' %{http_code}' --max-time 10 -X POST -H "Origin: $lb" \
  "http://127.0.0.1:$port_a/__clerk/v1/client/sign_ins" -d strategy=oauth_google \
  --data-urlencode "redirect_url=$lb/sso-callback")
t1=$(date +%s%N)
echo "while down: /readyz $ready; POST sign_ins: $api ($(((t1 - t0) / 1000000)) ms for both)"
sleep 3
bash scripts/pg-test-cluster.sh start "$work/pg" >/dev/null
echo "PostgreSQL started again"
if [[ $ready != 503 || $api != *'"code":"service_unavailable"'*' 503' ]]; then
  echo "multinode: expected /readyz 503 and a 503 service_unavailable envelope while PostgreSQL was down" >&2
  exit 1
fi
if ! wait "$pid_load"; then
  cat "$work/load-pg.log" >&2
  exit 1
fi
tail -n 1 "$work/load-pg.log"
kill -0 "$pid_a"  # never restarted
wait_http "http://127.0.0.1:$port_a/readyz" "node a after the PostgreSQL restart" "$pid_a"

echo "== users: one per completed flow, none duplicated"
completed=$(wc -l <"$RESULTS")
distinct=$(cut -d' ' -f1 "$RESULTS" | sort -u | wc -l)
psql_q() { psql "$pg_url" -Atqc "$1"; }
users=$(psql_q "SELECT count(*) FROM users")
dup=$(psql_q "SELECT count(*) FROM (SELECT email FROM email_addresses GROUP BY email HAVING count(*) > 1) d")
orphans=$(psql_q "SELECT count(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM email_addresses e WHERE e.user_id = u.id)")
mismatch=0
while read -r email user_id; do
  got=$(psql_q "SELECT user_id FROM email_addresses WHERE email = '$email'")
  [[ $got == "$user_id" ]] || { echo "flow of $email reported $user_id, store has '$got'" >&2; mismatch=$((mismatch + 1)); }
done <"$RESULTS"
echo "completed flows $completed (distinct emails $distinct), users $users, duplicated emails $dup, users without email $orphans, mismatches $mismatch"
if ((distinct != completed || users != completed || dup != 0 || orphans != 0 || mismatch != 0)); then
  echo "multinode: lost or duplicated users" >&2
  exit 1
fi

echo "== 4. rate limits: one budget for all nodes (counters in PostgreSQL)"
rl_limit=6
# Starts nodes c and d with the given ratelimit.counters and a limit of $rl_limit sign-in attempts
# per IP per hour, sends POST sign_ins to c, d, c, d, ... directly (so both see the same address),
# stops them, and sets rl_refused_at to the number of the first refused request (0: none). The
# refusal must be Clerk's 429 envelope with Retry-After.
rl_probe() {  # counters
  # Fresh ports for each probe, picked right before the nodes bind them.
  free_port port_c; free_port port_d
  start_node "c-$1" "$port_c" LATCHKEY_RATELIMIT_ENABLED=true LATCHKEY_RATELIMIT_COUNTERS="$1" \
    LATCHKEY_RATELIMIT_WINDOW=1h LATCHKEY_RATELIMIT_SIGN_IN_PER_IP=$rl_limit
  local pid_c=$node_pid
  start_node "d-$1" "$port_d" LATCHKEY_RATELIMIT_ENABLED=true LATCHKEY_RATELIMIT_COUNTERS="$1" \
    LATCHKEY_RATELIMIT_WINDOW=1h LATCHKEY_RATELIMIT_SIGN_IN_PER_IP=$rl_limit
  local pid_d=$node_pid
  wait_http "http://127.0.0.1:$port_c/readyz" "Latchkey node c ($1)" "$pid_c"
  wait_http "http://127.0.0.1:$port_d/readyz" "Latchkey node d ($1)" "$pid_d"
  rl_refused_at=0
  local i port out code
  for i in $(seq 1 $((3 * rl_limit))); do
    port=$((i % 2 == 1 ? port_c : port_d))
    out=$(curl -s -D "$work/rl-headers" -w ' %{http_code}' --max-time 10 -X POST -H "Origin: $lb" \
      "http://127.0.0.1:$port/__clerk/v1/client/sign_ins" -d strategy=oauth_google \
      --data-urlencode "redirect_url=$lb/sso-callback")
    code=${out##* }
    if [[ $code == 429 ]]; then
      if [[ $out != '{"errors":[{'*'"code":"too_many_requests"'* ]] ||
        ! grep -qi '^retry-after: [1-9]' "$work/rl-headers"; then
        echo "multinode: request $i: a 429 without Clerk's envelope or Retry-After: $out" >&2
        exit 1
      fi
      rl_refused_at=$i
      break
    fi
    if [[ $code != 200 ]]; then
      echo "multinode: request $i to port $port: expected 200 or 429, got $out" >&2
      exit 1
    fi
  done
  kill "$pid_c" "$pid_d"
  wait "$pid_c" "$pid_d" 2>/dev/null || true
}
rl_probe auto
echo "counters in PostgreSQL (auto): first refusal at request $rl_refused_at (limit $rl_limit)"
if ((rl_refused_at != rl_limit + 1)); then
  echo "multinode: with shared counters the limit of $rl_limit must hold across both nodes" >&2
  exit 1
fi
# Summed over windows: the probe may straddle the start of an hour.
shared=$(psql "$pg_url" -Atqc \
  "SELECT sum(count) FROM rate_counters WHERE key = 'sign_in_ip|127.0.0.1'")
if [[ $shared != $((rl_limit + 1)) ]]; then
  echo "multinode: expected the shared counter at $((rl_limit + 1)), found '$shared'" >&2
  exit 1
fi
rl_probe memory
echo "counters in memory (each node its own): first refusal at request $rl_refused_at"
if ((rl_refused_at != 2 * rl_limit + 1)); then
  echo "multinode: per-node counters should refuse only at twice the limit" >&2
  exit 1
fi
echo "multinode: OK"
