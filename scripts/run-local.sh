#!/usr/bin/env bash
# `make run`: builds Penny, starts PostgreSQL and RabbitMQ if needed, creates the `penny`
# database, starts the four services and the gateway with local defaults, and stops everything
# on Ctrl-C. Safe to run again: whatever a previous run left behind is stopped first.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
state="$root/.local"              # git-ignored: keys, logs, pids, gateway prefix
mkdir -p "$state/keys" "$state/logs" "$state/run" "$state/mail"

services=(auth ledger mail-ingest extraction)
declare -A ports=([auth]=8081 [ledger]=8082 [mail-ingest]=8083 [extraction]=8084)
gateway_port=8080

stop_previous() {
    for pidfile in "$state"/run/*.pid; do
        [ -e "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        if kill -0 "$pid" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
        rm -f "$pidfile"
    done
    sleep 0.5
}

stop_all() {
    trap - INT TERM EXIT
    echo
    echo "stopping Penny..."
    stop_previous
    wait 2>/dev/null || true
    echo "stopped."
}

scripts/install-deps.sh
scripts/ensure-services.sh
stop_previous

echo "building (release)..."
cargo build --release --quiet --bins

db_url=${PENNY_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/penny}
if ! psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'penny'" | grep -q 1; then
    echo "creating database penny"
    psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE penny"
fi

# A development signing key for access tokens, made on first run, never committed.
if [ ! -f "$state/keys/jwt-dev.pem" ]; then
    openssl genpkey -algorithm ed25519 -out "$state/keys/jwt-dev.pem" 2>/dev/null
    chmod 600 "$state/keys/jwt-dev.pem"
    echo "generated a development signing key in .local/keys/"
fi

export PENNY_DATABASE_URL="$db_url"
export PENNY_JWT_PRIVATE_KEY_FILE="${PENNY_JWT_PRIVATE_KEY_FILE:-$state/keys/jwt-dev.pem}"
export PENNY_MAIL_DIR="${PENNY_MAIL_DIR:-$state/mail}"
export PENNY_JWKS_URL="${PENNY_JWKS_URL:-http://127.0.0.1:${ports[auth]}/.well-known/jwks.json}"

trap 'stop_all; exit 130' INT TERM
trap stop_all EXIT

for service in "${services[@]}"; do
    env_prefix=$(echo "$service" | tr 'a-z-' 'A-Z_')
    env "PENNY_${env_prefix}_PORT=${ports[$service]}" "target/release/penny-$service" serve \
        >"$state/logs/$service.log" 2>&1 &
    echo $! > "$state/run/$service.pid"
done

LISTEN="127.0.0.1:$gateway_port" deploy/gateway/render.sh "$state/gateway"
nginx -p "$state/gateway/" -c "$state/gateway/nginx.conf" -g 'daemon off;' >"$state/logs/gateway.log" 2>&1 &
echo $! > "$state/run/gateway.pid"

echo "waiting for the services to be ready..."
for service in "${services[@]}"; do
    port=${ports[$service]}
    for _ in $(seq 1 60); do
        curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
        if ! kill -0 "$(cat "$state/run/$service.pid")" 2>/dev/null; then
            echo "error: $service exited; its log (.local/logs/$service.log) ends with:" >&2
            tail -n 20 "$state/logs/$service.log" >&2
            exit 1
        fi
        sleep 0.5
    done
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || { echo "error: $service is not ready" >&2; exit 1; }
done
curl -fsS "http://127.0.0.1:$gateway_port/healthz" >/dev/null || { echo "error: the gateway is not answering" >&2; exit 1; }

cat <<MSG

Penny is running.
  gateway        http://127.0.0.1:$gateway_port    (the public API; API viewer at /docs/, OpenAPI at /openapi/<service>.json)
  auth           http://127.0.0.1:${ports[auth]}    (/healthz, /readyz, /metrics)
  ledger         http://127.0.0.1:${ports[ledger]}
  mail-ingest    http://127.0.0.1:${ports[mail-ingest]}
  extraction     http://127.0.0.1:${ports[extraction]}
  database       $db_url (one schema per service)
  logs           .local/logs/
MSG

# The main job, on Penny's own demo mailbox (demo/mailbox.mbox): a demo user signs up, the
# mailbox is imported, the jobs are followed to the end, and the ledger is summarised. Running it
# again imports nothing new (every email is stored once). PENNY_NO_DEMO=1 skips it.
if [ -z "${PENNY_NO_DEMO:-}" ]; then
    penny=target/release/penny
    export PENNY_URL="http://127.0.0.1:$gateway_port"
    export PENNY_CONFIG_DIR="$state/cli"
    mkdir -p "$PENNY_CONFIG_DIR"
    if [ ! -s "$state/demo-password" ]; then
        (umask 077; openssl rand -base64 24 | tr -d '/+=\n' | cut -c1-20 > "$state/demo-password")
    fi
    demo_password=$(cat "$state/demo-password")
    echo "The demo: user \`demo\`, password in .local/demo-password ($demo_password)"
    if printf '%s\n' "$demo_password" \
        | "$penny" register --username demo --email demo@example.com --name "Demo" --password-stdin >/dev/null 2>"$state/logs/demo-register.log"; then
        echo "  signed up the demo user"
    fi
    if ! printf '%s\n' "$demo_password" | "$penny" login --user demo --password-stdin >/dev/null; then
        echo "error: the demo user exists with another password (remove .local/demo-password's user or the penny database)" >&2
        exit 1
    fi
    echo
    echo "Importing demo/mailbox.mbox (Penny's demo mailbox: card alerts, receipts, transfers in 8 currencies and 7 languages)..."
    "$penny" import demo/mailbox.mbox
    echo
    echo "The ledger, by category:"
    "$penny" summary --group-by category
    echo
    echo "The newest transactions:"
    "$penny" transactions list --limit 8
    echo
    echo "Try it: PENNY_URL=$PENNY_URL PENNY_CONFIG_DIR=$PENNY_CONFIG_DIR target/release/penny --help"
    echo "        (or the API viewer at http://127.0.0.1:$gateway_port/docs/)"
fi

if [ -n "${PENNY_RUN_ONCE:-}" ]; then exit 0; fi   # for smoke tests: start, check, stop
echo
echo "Penny keeps running; press Ctrl-C to stop."
wait -n || true
echo "a process stopped; see .local/logs/" >&2
