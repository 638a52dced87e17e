#!/usr/bin/env bash
# Makes sure PostgreSQL and RabbitMQ answer on 127.0.0.1, starting them if they are installed
# but stopped. Exits non-zero, saying why, when one cannot be brought up.
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
if ! pg_up; then
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
        echo "starting PostgreSQL"
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    else
        echo "error: PostgreSQL is not running on 127.0.0.1:5432 and is not installed here" >&2
        exit 1
    fi
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
    pg_up || { echo "error: PostgreSQL did not come up" >&2; exit 1; }
fi

rabbit_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
if ! rabbit_up; then
    if command -v rabbitmq-server >/dev/null 2>&1; then
        echo "starting RabbitMQ"
        rabbitmq-server -detached
        for _ in $(seq 1 60); do rabbitmqctl await_startup >/dev/null 2>&1 && break; sleep 1; done
    else
        echo "error: RabbitMQ is not running on 127.0.0.1:5672 and is not installed here" >&2
        exit 1
    fi
    rabbit_up || { echo "error: RabbitMQ did not come up" >&2; exit 1; }
fi
# The management API lets the tests give each test a vhost of its own, and operators inspect and
# replay parked messages.
mgmt_up() { (exec 3<>/dev/tcp/127.0.0.1/15672) 2>/dev/null; }
if ! mgmt_up; then
    echo "enabling the RabbitMQ management plugin"
    rabbitmq-plugins enable rabbitmq_management >/dev/null
    for _ in $(seq 1 60); do mgmt_up && break; sleep 1; done
    mgmt_up || { echo "error: the RabbitMQ management API did not come up on 15672" >&2; exit 1; }
fi
echo "PostgreSQL and RabbitMQ are up"
