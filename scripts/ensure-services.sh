#!/usr/bin/env bash
# Starts the local PostgreSQL and RabbitMQ when they are installed but not answering.
# Tests never skip without them; this only saves a manual start on a development machine.
set -u
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! up 5432 && command -v pg_ctlcluster >/dev/null; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
if ! up 5672 && command -v rabbitmq-server >/dev/null; then
  echo "starting RabbitMQ"
  rabbitmq-server -detached || true
  for _ in $(seq 1 60); do up 5672 && break; sleep 1; done
fi
up 5432 || echo "PostgreSQL is not reachable on 127.0.0.1:5432 (tests that need it will fail)"
up 5672 || echo "RabbitMQ is not reachable on 127.0.0.1:5672 (tests that need it will fail)"
exit 0
