#!/usr/bin/env bash
# Renders the gateway config into PREFIX, copies the API viewer's files there and prepares its log
# and temp folders; then checks the result with `nginx -t`.
# Usage: deploy/gateway/render.sh PREFIX
#
# Variables (defaults in brackets):
#   LISTEN [127.0.0.1:8080]; AUTH_UPSTREAM [127.0.0.1:8081], LEDGER_UPSTREAM [127.0.0.1:8082],
#   MAIL_INGEST_UPSTREAM [127.0.0.1:8083], EXTRACTION_UPSTREAM [127.0.0.1:8084];
#   BODY_LIMIT [1m]; IMPORT_BODY_LIMIT [1024m];
#   RATE_LIMIT [50r/s]      per-client request rate, `Nr/s` or `Nr/m`, or `off` (benchmarks)
#   RATE_LIMIT_BURST [100]  requests a client may make at once beyond the rate before it gets 429
#   REAL_IP_FROM []         comma-separated addresses or networks of trusted proxies in front of
#                           the gateway (a load balancer); their X-Forwarded-For names the client
#   ACCESS_LOG [logs/access.log], ERROR_LOG [logs/error.log]   (/dev/stdout, /dev/stderr in a container)
set -euo pipefail
prefix=${1:?usage: render.sh PREFIX}
here=$(cd "$(dirname "$0")" && pwd)
: "${LISTEN:=127.0.0.1:8080}" "${AUTH_UPSTREAM:=127.0.0.1:8081}" "${LEDGER_UPSTREAM:=127.0.0.1:8082}"
: "${MAIL_INGEST_UPSTREAM:=127.0.0.1:8083}" "${EXTRACTION_UPSTREAM:=127.0.0.1:8084}"
: "${BODY_LIMIT:=1m}" "${IMPORT_BODY_LIMIT:=1024m}"
: "${RATE_LIMIT:=50r/s}" "${RATE_LIMIT_BURST:=100}" "${REAL_IP_FROM:=}"
: "${ACCESS_LOG:=logs/access.log}" "${ERROR_LOG:=logs/error.log}"

# The rate limit: off renders an empty key (nginx counts nothing) with a placeholder rate.
if [ "$RATE_LIMIT" = off ]; then
    RATE_LIMIT_KEY='""'
    RATE_LIMIT=1r/s
    RATE_LIMIT_RETRY_AFTER=1
elif [[ $RATE_LIMIT =~ ^([1-9][0-9]*)r/(s|m)$ ]]; then
    # nginx's variable, written literally into the config.
    # shellcheck disable=SC2016
    RATE_LIMIT_KEY='$binary_remote_addr'
    # Retry-After: the whole seconds until the client's next request is allowed.
    if [ "${BASH_REMATCH[2]}" = s ]; then
        RATE_LIMIT_RETRY_AFTER=1
    else
        RATE_LIMIT_RETRY_AFTER=$(((60 + BASH_REMATCH[1] - 1) / BASH_REMATCH[1]))
    fi
else
    echo "render.sh: RATE_LIMIT must be Nr/s, Nr/m or off, not '$RATE_LIMIT'" >&2
    exit 2
fi
if ! [[ $RATE_LIMIT_BURST =~ ^[0-9]+$ ]]; then
    echo "render.sh: RATE_LIMIT_BURST must be a whole number, not '$RATE_LIMIT_BURST'" >&2
    exit 2
fi
# nginx refuses `burst=0`: no burst is the directive without it.
if [ "$RATE_LIMIT_BURST" -gt 0 ]; then
    RATE_LIMIT_BURST_ARGS="burst=$RATE_LIMIT_BURST nodelay"
else
    RATE_LIMIT_BURST_ARGS=""
fi

# Trusted proxies in front of the gateway: the client address is the last untrusted one of their
# X-Forwarded-For, and it is what the rate limit counts and what X-Real-IP tells the services.
REAL_IP_CONFIG=""
if [ -n "$REAL_IP_FROM" ]; then
    IFS=',' read -ra proxies <<< "$REAL_IP_FROM"
    for proxy in "${proxies[@]}"; do
        proxy=${proxy//[[:space:]]/}
        [ -n "$proxy" ] && REAL_IP_CONFIG+="        set_real_ip_from $proxy;"$'\n'
    done
    REAL_IP_CONFIG+="        real_ip_header X-Forwarded-For;"$'\n'"        real_ip_recursive on;"
fi

export LISTEN AUTH_UPSTREAM LEDGER_UPSTREAM MAIL_INGEST_UPSTREAM EXTRACTION_UPSTREAM BODY_LIMIT \
    IMPORT_BODY_LIMIT RATE_LIMIT_KEY RATE_LIMIT RATE_LIMIT_BURST_ARGS RATE_LIMIT_RETRY_AFTER REAL_IP_CONFIG \
    ACCESS_LOG ERROR_LOG
mkdir -p "$prefix/logs" "$prefix/tmp" "$prefix/static"
rm -rf "$prefix/static/docs"
cp -R "$here/docs" "$prefix/static/docs"
# Only our placeholders are replaced; nginx's own $variables stay as they are.
# shellcheck disable=SC2016
envsubst '${LISTEN} ${AUTH_UPSTREAM} ${LEDGER_UPSTREAM} ${MAIL_INGEST_UPSTREAM} ${EXTRACTION_UPSTREAM} ${BODY_LIMIT} ${IMPORT_BODY_LIMIT} ${RATE_LIMIT_KEY} ${RATE_LIMIT} ${RATE_LIMIT_BURST_ARGS} ${RATE_LIMIT_RETRY_AFTER} ${REAL_IP_CONFIG} ${ACCESS_LOG} ${ERROR_LOG}' \
    < "$here/nginx.conf.template" > "$prefix/nginx.conf"
nginx -t -q -p "$prefix/" -c "$prefix/nginx.conf"
