#!/usr/bin/env bash
# Local infrastructure without Docker: `up` makes sure RabbitMQ (with the management plugin),
# PostgreSQL, a MongoDB-protocol server (SecantusDB) and the SMTP catcher (maildev) answer on their
# ports, starting the ones that are installed but stopped; `down` stops only what `up` started;
# `status` shows each port. Idempotent: running `up` twice starts nothing the second time.
#
# On a bare Debian machine (Python and make only), what is missing comes from apt: `packages`
# (run by `make venv` before it needs Python's venv or npm, and by `up`) installs RabbitMQ,
# PostgreSQL, Node.js/npm and Python's venv module when they are missing, as root; as anyone else
# it prints the one `sudo apt-get install` line and stops. `need COMMAND=PACKAGE...` does the
# same for one tool (chromium, wrk). Nothing needs systemd: RabbitMQ starts with
# `rabbitmq-server -detached`, PostgreSQL with `pg_ctlcluster`. `plan` prints what `up` would do
# (install, start, enable) and does nothing.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
STATE="$ROOT/.local"            # git-ignored: data, logs, pid files and "we started it" markers
VENV_BIN="$ROOT/.venv/bin"
NODE_BIN="$ROOT/dev/node_modules/.bin"
PYTHON=${PYTHON:-python3.11}    # the Makefile's
DRY_RUN=0

RABBIT_PORT=${RABBIT_PORT:-5672}
RABBIT_API_PORT=${RABBIT_API_PORT:-15672}
POSTGRES_PORT=${POSTGRES_PORT:-5432}
MONGO_PORT=${MONGO_PORT:-27017}
SMTP_PORT=${SMTP_PORT:-1025}
MAIL_UI_PORT=${MAIL_UI_PORT:-8025}

say() { printf '[infra] %s\n' "$*"; }

act() {  # act WHAT COMMAND...: say WHAT and run COMMAND; with `plan`, only say "would WHAT"
    local what=$1; shift
    if ((DRY_RUN)); then
        say "would $what"
    else
        say "$what"
        "$@"
    fi
}
# shellcheck source=scripts/processes.sh
source scripts/processes.sh

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {  # wait_port NAME PORT SECONDS
    ((DRY_RUN)) && ! port_open "$2" && return  # `plan` started nothing to wait for
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

# What a bare Debian machine lacks: "COMMAND=PACKAGE" pairs, each checked with `command -v`.
missing_packages() {  # missing_packages PAIR...: the packages of the commands not installed
    local pair
    for pair in "$@"; do
        command -v "${pair%%=*}" >/dev/null || printf '%s\n' "${pair#*=}"
    done | awk '!seen[$0]++'
}

base_needs() {  # the pairs `packages` checks: what make venv, make infra and make run use
    "$PYTHON" -c 'import ensurepip' 2>/dev/null || echo "python-venv-module=${PYTHON##*/}-venv"
    echo node=nodejs
    echo npm=npm
    # Servers already answering on their port (a container, another install) need nothing.
    port_open "$RABBIT_PORT" || echo rabbitmq-server=rabbitmq-server
    port_open "$POSTGRES_PORT" || echo pg_ctlcluster=postgresql
}

install() {  # install PAIR...: apt-get the missing packages as root; otherwise say how, and fail
    local missing
    mapfile -t missing < <(missing_packages "$@")
    ((${#missing[@]})) || return 0
    if ! command -v apt-get >/dev/null; then
        say "missing: ${missing[*]}, and this is no Debian machine (no apt-get): install them"
        return 1
    fi
    if [ "$(id -u)" != 0 ]; then
        say "missing: ${missing[*]}. Install them (as root), then run this again:"
        printf '    sudo apt-get install -y %s\n' "${missing[*]}"
        return 1
    fi
    act "install ${missing[*]}: apt-get install -y ${missing[*]}" apt_install "${missing[@]}"
    for package in "${missing[@]}"; do
        if [ "$package" = postgresql ]; then
            act "let local TCP connections into the new PostgreSQL without a password (trust in \
pg_hba.conf), as config.yaml's DATABASE_URI expects" postgres_trust_local
        fi
    done
}

apt_install() {
    # Another apt-get (or unattended-upgrades) may hold the lock: wait for it rather than fail.
    apt-get -o DPkg::Lock::Timeout=300 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
        --no-install-recommends "$@"
}

postgres_version() { ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1; }

postgres_trust_local() {
    # Debian's cluster asks for a password over TCP; config.yaml's DATABASE_URI (postgres@localhost)
    # and the tests have none. Local development only: never done to a PostgreSQL found installed.
    local hba rules
    hba="/etc/postgresql/$(postgres_version)/main/pg_hba.conf"
    rules=$(printf '%s\n' "# Added by scripts/infra.sh for local development" \
        "host all all 127.0.0.1/32 trust" "host all all ::1/128 trust"; cat "$hba")
    printf '%s\n' "$rules" >"$hba"  # the same file: its owner and mode stay
    if port_open "$POSTGRES_PORT"; then
        pg_ctlcluster --skip-systemctl-redirect "$(postgres_version)" main reload
    fi
}

packages() {
    local needs
    mapfile -t needs < <(base_needs)
    if [ -z "$(missing_packages "${needs[@]}")" ]; then
        say "Debian packages: nothing missing"
    else
        install "${needs[@]}"
    fi
}

enable_management() { rabbitmq-plugins enable rabbitmq_management >/dev/null; }

rabbitmq_up() {
    if ! port_open "$RABBIT_PORT"; then
        act "start RabbitMQ: rabbitmq-server -detached" rabbitmq-server -detached
        ((DRY_RUN)) || touch "$STATE/pids/rabbitmq.started"
        wait_port RabbitMQ "$RABBIT_PORT" 90
    else
        say "RabbitMQ answers on :$RABBIT_PORT"
    fi
    if ! port_open "$RABBIT_API_PORT"; then
        # Nameko's test fixtures create a vhost per test through the management API.
        act "enable the RabbitMQ management plugin: rabbitmq-plugins enable rabbitmq_management" \
            enable_management
        wait_port "RabbitMQ management" "$RABBIT_API_PORT" 60
    fi
}

postgres_up() {
    if port_open "$POSTGRES_PORT"; then
        say "PostgreSQL answers on :$POSTGRES_PORT"
        return
    fi
    local version
    version=$(postgres_version)
    act "start PostgreSQL: pg_ctlcluster --skip-systemctl-redirect ${version:-VERSION} main start" \
        pg_ctlcluster --skip-systemctl-redirect "$version" main start
    ((DRY_RUN)) || touch "$STATE/pids/postgres.started"
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
    [ -x "$1" ] || ((DRY_RUN)) || { say "$label missing: run 'make venv'"; return 1; }
    act "start $label: ${1##*/} (log: $STATE/logs/$name.log)" start_background "$name" "$@"
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
        pg_ctlcluster --skip-systemctl-redirect "$(postgres_version)" main stop || true
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

up() {
    packages
    ((DRY_RUN)) || mkdir -p "$STATE/pids" "$STATE/logs" "$STATE/mongo" "$STATE/mail"
    rabbitmq_up
    postgres_up
    mongo_up
    maildev_up
}

case "${1:-}" in
    up) up ;;
    plan) DRY_RUN=1; up ;;
    packages) packages ;;
    need) shift; install "$@" ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 up|plan|packages|need COMMAND=PACKAGE...|down|status" >&2; exit 2 ;;
esac
