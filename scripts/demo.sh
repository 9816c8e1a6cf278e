#!/usr/bin/env bash
# Runs the Latchkey demo on this machine: a local identity provider (stands in for Google), a mail catcher (the
# emails Latchkey sends, e.g. sign-up codes, on a web page), Latchkey, and a React app that uses Clerk's custom-flow
# pages. Then open http://localhost:5173/sign-in.
#
#   scripts/demo.sh            install dependencies, build everything, start the four servers
#   scripts/demo.sh --no-build skip install-deps, the C++ build and npm ci/build (use what is there)
#
# Env: DEMO_PORT (5173), LATCHKEY_PORT (8787), IDP_PORT (4000), MAIL_HTTP_PORT (1080), MAIL_SMTP_PORT (1025; 0 =
#      any free port), LATCHKEY_BIN (default: the release build), DEMO_DATA_DIR (./latchkey-data/demo; users and
#      sessions persist there between runs).
# Ctrl-C (or SIGTERM) stops all four servers.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

build=1
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

demo_port="${DEMO_PORT:-5173}"
latchkey_port="${LATCHKEY_PORT:-8787}"
idp_port="${IDP_PORT:-4000}"
mail_http_port="${MAIL_HTTP_PORT:-1080}"
mail_smtp_port="${MAIL_SMTP_PORT:-1025}"
latchkey_bin="${LATCHKEY_BIN:-$repo/build/release/src/cli/latchkey}"
data_dir="${DEMO_DATA_DIR:-$repo/latchkey-data/demo}"
# The browser talks to FAPI through the demo server (same origin, first-party cookies), so Latchkey's public
# URL is the demo's origin and its OAuth redirect_uri is http://localhost:<demo>/__clerk/v1/oauth_callback.
demo_origin="http://localhost:${demo_port}"
idp_issuer="http://127.0.0.1:${idp_port}"
client_id="latchkey-demo"
client_secret="latchkey-demo-secret"

step() { printf '\n==> %s\n' "$*"; }

if ((build)); then
  step "Installing system packages (scripts/install-deps.sh)"
  "$repo/scripts/install-deps.sh"

  step "Building Latchkey (release)"
  if [[ -z "${LATCHKEY_BIN:-}" ]]; then
    cmake --preset release
    cmake --build --preset release --target latchkey -j "$(nproc)"
  fi

  step "Installing and building the demo app (examples/demo)"
  (cd examples/demo && npm ci --no-audit --no-fund && npm run build)

  step "Installing the local identity provider (examples/idp)"
  (cd examples/idp && npm ci --no-audit --no-fund)

  step "Installing the mail catcher (examples/mailcatcher)"
  (cd examples/mailcatcher && npm ci --no-audit --no-fund)
fi

[[ -x "$latchkey_bin" ]] || { echo "demo: no Latchkey binary at $latchkey_bin (run without --no-build, or set LATCHKEY_BIN)" >&2; exit 1; }
[[ -f examples/demo/dist/index.html ]] || { echo "demo: examples/demo is not built (run without --no-build)" >&2; exit 1; }
[[ -d examples/idp/node_modules/oidc-provider ]] || { echo "demo: examples/idp has no node_modules (run without --no-build)" >&2; exit 1; }
[[ -d examples/mailcatcher/node_modules/smtp-server ]] || { echo "demo: examples/mailcatcher has no node_modules (run without --no-build)" >&2; exit 1; }

for port in "$demo_port" "$latchkey_port" "$idp_port" "$mail_http_port" "$mail_smtp_port"; do
  [[ "$port" == 0 ]] && continue
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "demo: port $port on 127.0.0.1 is already in use; stop what runs there or set DEMO_PORT/LATCHKEY_PORT/IDP_PORT/MAIL_HTTP_PORT/MAIL_SMTP_PORT" >&2
    exit 1
  fi
done

mkdir -p "$data_dir"
run_dir="$(mktemp -d "${TMPDIR:-/tmp}/latchkey-demo.XXXXXX")"
config="$run_dir/latchkey.toml"
umask 077
cat > "$config" <<EOF
# Written by scripts/demo.sh
[server]
listen = "127.0.0.1:${latchkey_port}"
public_url = "${demo_origin}"

[storage]
data_dir = "${data_dir}"

[logging]
level = "info"
format = "text"

[frontend]
path_prefix = "/__clerk"
application_name = "Latchkey demo"
sign_in_url = "/sign-in"
allowed_origins = ["${demo_origin}"]
required_fields = ["first_name", "last_name"]

[providers.oauth_google]
client_id = "${client_id}"
client_secret = "${client_secret}"
issuer = "${idp_issuer}"
token_auth_method = "client_secret_post"
EOF

# The servers' own pids (output goes through a process substitution, so $! is the server, not a pipe stage).
pids=()
cleanup() {
  trap - EXIT INT TERM
  if ((${#pids[@]})); then
    printf '\n==> Stopping the demo servers\n'
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 50); do
      alive=0
      for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      ((alive)) || break
      sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
  fi
  rm -rf "$run_dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wait_http() { # name url pid
  for _ in $(seq 300); do
    if ! kill -0 "$3" 2>/dev/null; then
      echo "demo: $1 exited during start-up; its output is above" >&2
      exit 1
    fi
    curl -fsS -o /dev/null --max-time 2 "$2" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "demo: $1 did not answer at $2 within 30 s" >&2
  exit 1
}

step "Starting the local identity provider on ${idp_issuer}"
IDP_PORT="$idp_port" IDP_CLIENT_ID="$client_id" IDP_CLIENT_SECRET="$client_secret" \
  IDP_REDIRECT_URIS="${demo_origin}/__clerk/v1/oauth_callback,http://127.0.0.1:${demo_port}/__clerk/v1/oauth_callback" \
  node examples/idp/idp.mjs > >(sed -u 's/^/[idp] /') 2>&1 &
pids+=($!)
wait_http "the identity provider" "${idp_issuer}/.well-known/openid-configuration" "${pids[-1]}"

step "Starting the mail catcher"
# It prints one line {"smtp":P,"http":Q} on stdout once it listens (with the real ports, also for 0); its log goes
# to stderr.
MAILCATCHER_SMTP_PORT="$mail_smtp_port" MAILCATCHER_HTTP_PORT="$mail_http_port" \
  node examples/mailcatcher/mailcatcher.mjs > "$run_dir/mail.ports" 2> >(sed -u 's/^/[mail] /' >&2) &
pids+=($!)
mail_ports=""
for _ in $(seq 300); do
  mail_ports="$(head -n 1 "$run_dir/mail.ports" 2>/dev/null || true)"
  [[ "$mail_ports" =~ ^\{\"smtp\":([0-9]+),\"http\":([0-9]+)\}$ ]] && break
  kill -0 "${pids[-1]}" 2>/dev/null || { echo "demo: the mail catcher exited during start-up; its output is above" >&2; exit 1; }
  sleep 0.1
done
[[ "$mail_ports" =~ ^\{\"smtp\":([0-9]+),\"http\":([0-9]+)\}$ ]] || { echo "demo: the mail catcher did not report its ports within 30 s" >&2; exit 1; }
mail_smtp_port="${BASH_REMATCH[1]}"
mail_url="http://127.0.0.1:${BASH_REMATCH[2]}"
wait_http "the mail catcher" "${mail_url}/healthz" "${pids[-1]}"

step "Starting Latchkey on 127.0.0.1:${latchkey_port} (data in ${data_dir}, mail to 127.0.0.1:${mail_smtp_port})"
LATCHKEY_SMTP_HOST=127.0.0.1 LATCHKEY_SMTP_PORT="$mail_smtp_port" LATCHKEY_SMTP_TLS=none \
  "$latchkey_bin" serve --config "$config" > >(sed -u 's/^/[latchkey] /') 2>&1 &
pids+=($!)
wait_http "Latchkey" "http://127.0.0.1:${latchkey_port}/healthz" "${pids[-1]}"

step "Starting the demo app on ${demo_origin}"
DEMO_PORT="$demo_port" LATCHKEY_URL="http://127.0.0.1:${latchkey_port}" DEMO_ORIGIN="$demo_origin" \
  node examples/demo/server.mjs > >(sed -u 's/^/[demo] /') 2>&1 &
pids+=($!)
wait_http "the demo server" "http://127.0.0.1:${demo_port}/healthz" "${pids[-1]}"

cat <<EOF

  Open ${demo_origin}/sign-in

  Press "Sign in with Google", then at the local identity provider type any email (add a first and last
  name, or leave them out to see the "missing requirements" page). "Deny" shows the provider-denied case.

  Or sign up with an email and a password (${demo_origin}/sign-up-password): the verification code, like
  every email Latchkey sends, shows up in the mail catcher at ${mail_url}/
  Press Ctrl-C to stop.

EOF

# Stay in the foreground until a server exits or Ctrl-C arrives (the traps stop the rest).
wait -n "${pids[@]}" || true
echo "demo: a server exited; stopping the others" >&2
exit 1
