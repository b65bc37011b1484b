#!/usr/bin/env bash
# Local infrastructure without Docker: `up` makes sure RabbitMQ (with the management plugin),
# PostgreSQL, a MongoDB-protocol server (SecantusDB) and the SMTP catcher (maildev) answer on their
# ports, starting the ones that are installed but stopped; `down` stops only what `up` started;
# `status` shows each port. Idempotent: running `up` twice starts nothing the second time.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
STATE="$ROOT/.local"            # git-ignored: data, logs, pid files and "we started it" markers
mkdir -p "$STATE/pids" "$STATE/logs" "$STATE/mongo" "$STATE/mail"
VENV_BIN="$ROOT/.venv/bin"
NODE_BIN="$ROOT/dev/node_modules/.bin"

RABBIT_PORT=${RABBIT_PORT:-5672}
RABBIT_API_PORT=${RABBIT_API_PORT:-15672}
POSTGRES_PORT=${POSTGRES_PORT:-5432}
MONGO_PORT=${MONGO_PORT:-27017}
SMTP_PORT=${SMTP_PORT:-1025}
MAIL_UI_PORT=${MAIL_UI_PORT:-8025}

say() { printf '[infra] %s\n' "$*"; }
# shellcheck source=scripts/processes.sh
source scripts/processes.sh

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {  # wait_port NAME PORT SECONDS
    local name=$1 port=$2 deadline=$((SECONDS + $3))
    until port_open "$port"; do
        if ((SECONDS >= deadline)); then
            say "$name did not answer on :$port within $3 s (logs: $STATE/logs/)"
            return 1
        fi
        sleep 0.3
    done
    say "$name answers on :$port"
}

start_background() {  # start_background NAME COMMAND...: a daemon of ours, with a pid file
    local name=$1; shift
    nohup "$@" >"$STATE/logs/$name.log" 2>&1 &
    echo $! >"$STATE/pids/$name.pid"
}

rabbitmq_up() {
    if ! port_open "$RABBIT_PORT"; then
        if ! command -v rabbitmq-server >/dev/null; then
            say "RabbitMQ is not installed. Install it: apt-get install -y rabbitmq-server"
            return 1
        fi
        say "starting RabbitMQ"
        rabbitmq-server -detached
        touch "$STATE/pids/rabbitmq.started"
        wait_port RabbitMQ "$RABBIT_PORT" 90
    else
        say "RabbitMQ answers on :$RABBIT_PORT"
    fi
    if ! port_open "$RABBIT_API_PORT"; then
        # Nameko's test fixtures create a vhost per test through the management API.
        say "enabling the RabbitMQ management plugin"
        rabbitmq-plugins enable rabbitmq_management >/dev/null
        wait_port "RabbitMQ management" "$RABBIT_API_PORT" 60
    fi
}

postgres_up() {
    if port_open "$POSTGRES_PORT"; then
        say "PostgreSQL answers on :$POSTGRES_PORT"
        return
    fi
    if ! command -v pg_ctlcluster >/dev/null; then
        say "PostgreSQL is not installed. Install it: apt-get install -y postgresql"
        return 1
    fi
    say "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
    touch "$STATE/pids/postgres.started"
    wait_port PostgreSQL "$POSTGRES_PORT" 60
}

# ours_up NAME LABEL PORT WHAT COMMAND...: unless WHAT already answers on PORT, start COMMAND (one
# of the servers `make venv` installs) as our daemon NAME and wait for it.
ours_up() {
    local name=$1 label=$2 port=$3 what=$4; shift 4
    if port_open "$port"; then
        say "$what answers on :$port"
        return
    fi
    [ -x "$1" ] || { say "$label missing: run 'make venv'"; return 1; }
    say "starting $label (log: $STATE/logs/$name.log)"
    start_background "$name" "$@"
    wait_port "$label" "$port" 60
}

mongo_up() {
    ours_up secantus SecantusDB "$MONGO_PORT" "MongoDB-protocol server" "$VENV_BIN/secantusd-py" \
        --host 127.0.0.1 --port "$MONGO_PORT" --storage-path "$STATE/mongo" --standalone \
        --log-level WARNING
}

maildev_up() {
    ours_up maildev maildev "$SMTP_PORT" "SMTP catcher" "$NODE_BIN/maildev" -s "$SMTP_PORT" \
        -w "$MAIL_UI_PORT" --ip 127.0.0.1 --mail-directory "$STATE/mail"
    # The tests read caught mail through the web UI's JSON API.
    wait_port "maildev web UI" "$MAIL_UI_PORT" 30
}

stop_pid() {  # stop_pid NAME: stop a daemon we started, if it still runs
    stop_pid_file "$STATE/pids/$1.pid" "$1"
}

down() {
    stop_pid maildev
    stop_pid secantus
    if [ -f "$STATE/pids/postgres.started" ]; then
        say "stopping PostgreSQL"
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main stop || true
        rm -f "$STATE/pids/postgres.started"
    fi
    if [ -f "$STATE/pids/rabbitmq.started" ]; then
        say "stopping RabbitMQ"
        rabbitmqctl stop >/dev/null || true
        rm -f "$STATE/pids/rabbitmq.started"
    fi
}

status() {
    local name port
    for pair in "RabbitMQ:$RABBIT_PORT" "RabbitMQ-management:$RABBIT_API_PORT" \
                "PostgreSQL:$POSTGRES_PORT" "MongoDB-protocol:$MONGO_PORT" \
                "SMTP-catcher:$SMTP_PORT" "mail-web-UI:$MAIL_UI_PORT"; do
        name=${pair%%:*}; port=${pair##*:}
        if port_open "$port"; then say "$name :$port up"; else say "$name :$port DOWN"; fi
    done
}

case "${1:-}" in
    up) rabbitmq_up; postgres_up; mongo_up; maildev_up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
