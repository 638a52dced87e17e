#!/usr/bin/env bash
# Renders the gateway config into PREFIX and prepares its log and temp folders.
# Usage: deploy/gateway/render.sh PREFIX   (reads LISTEN, *_UPSTREAM, BODY_LIMIT, IMPORT_BODY_LIMIT)
set -euo pipefail
prefix=${1:?usage: render.sh PREFIX}
here=$(cd "$(dirname "$0")" && pwd)
: "${LISTEN:=127.0.0.1:8080}" "${AUTH_UPSTREAM:=127.0.0.1:8081}" "${LEDGER_UPSTREAM:=127.0.0.1:8082}"
: "${MAIL_INGEST_UPSTREAM:=127.0.0.1:8083}" "${EXTRACTION_UPSTREAM:=127.0.0.1:8084}"
: "${BODY_LIMIT:=1m}" "${IMPORT_BODY_LIMIT:=1024m}"
export LISTEN AUTH_UPSTREAM LEDGER_UPSTREAM MAIL_INGEST_UPSTREAM EXTRACTION_UPSTREAM BODY_LIMIT IMPORT_BODY_LIMIT
mkdir -p "$prefix/logs" "$prefix/tmp"
# Only our placeholders are replaced; nginx's own $variables stay as they are.
envsubst '${LISTEN} ${AUTH_UPSTREAM} ${LEDGER_UPSTREAM} ${MAIL_INGEST_UPSTREAM} ${EXTRACTION_UPSTREAM} ${BODY_LIMIT} ${IMPORT_BODY_LIMIT}' \
    < "$here/nginx.conf.template" > "$prefix/nginx.conf"
nginx -t -q -p "$prefix/" -c "$prefix/nginx.conf"
