#!/usr/bin/env bash
# A local 3-node RabbitMQ cluster beside the machine's own RabbitMQ (which it never touches).
#   up      start the nodes that are not running (the first boot joins nodes 2..N to node 1)
#   down    stop the nodes `up` started (their data stays in .local/rabbit-cluster)
#   status  each node, and the cluster's membership
# Node i (1..N) is RABBIT_CLUSTER_NAME-i@localhost with AMQP on RABBIT_CLUSTER_BASE+i, the
# management API on +10000, Erlang distribution on +20000 (defaults: 5791-5793, 15791-15793,
# 25791-25793; the machine's node keeps 5672, 15672, 25672). Each node runs the Debian package's
# server as the `rabbitmq` user with every path in its own directory, and shares the machine's
# Erlang cookie and epmd. Idempotent: `up` twice starts nothing the second time.
set -euo pipefail

cd "$(dirname "$0")/.."
BASE=${RABBIT_CLUSTER_BASE:-5790}
NODES=${RABBIT_CLUSTER_NODES:-3}
NAME=${RABBIT_CLUSTER_NAME:-nameko}
STATE=${RABBIT_CLUSTER_DIR:-$PWD/.local/rabbit-cluster}
SERVER=/usr/lib/rabbitmq/bin/rabbitmq-server
CTL=/usr/lib/rabbitmq/bin/rabbitmqctl
RABBIT_HOME=$(getent passwd rabbitmq | cut -d: -f6 || true)

say() { printf '[rabbit-cluster] %s\n' "$*"; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
node_name() { echo "$NAME-$1@localhost"; }
node_dir() { echo "$STATE/$1"; }
amqp_port() { echo $((BASE + $1)); }
api_port() { echo $((BASE + 10000 + $1)); }
dist_port() { echo $((BASE + 20000 + $1)); }

# Commands run as `rabbitmq`, with its home (the machine's Erlang cookie); rabbitmqctl on any
# free port, as its default range (35672-35682) is shared machine-wide.
AS_RABBIT=(env "HOME=$RABBIT_HOME" RABBITMQ_CTL_DIST_PORT_MIN=0 RABBITMQ_CTL_DIST_PORT_MAX=0)
if [ "$(id -un)" != rabbitmq ]; then
    AS_RABBIT=(setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups "${AS_RABBIT[@]}")
fi
ctl() { local i=$1; shift; (cd "$(node_dir "$i")" && "${AS_RABBIT[@]}" "$CTL" -q -n "$(node_name "$i")" "$@"); }

running() {  # running I: the node `up` started is alive
    local file; file="$(node_dir "$1")/pid"
    [ -s "$file" ] && kill -0 "$(cat "$file")" 2>/dev/null
}

preflight() {
    [ -x "$SERVER" ] || { say "RabbitMQ is not installed. Install it: apt-get install -y rabbitmq-server"; exit 1; }
    [ -n "$RABBIT_HOME" ] || { say "no rabbitmq user (the Debian package creates it)"; exit 1; }
    if [ "$(id -u)" != 0 ] && [ "$(id -un)" != rabbitmq ]; then
        say "run as root or as the rabbitmq user"; exit 1
    fi
}

launch() {  # launch I: start node I in the background, its VM detached from this shell
    local i=$1 dir seed=${2:-}; dir=$(node_dir "$i")
    local port
    for port in "$(amqp_port "$i")" "$(api_port "$i")" "$(dist_port "$i")"; do
        if port_open "$port"; then
            say "port $port is taken by another program: choose RABBIT_CLUSTER_BASE"; exit 1
        fi
    done
    mkdir -p "$dir"
    cat >"$dir/rabbitmq.conf" <<EOF
loopback_users = none
management.tcp.ip = 127.0.0.1
management.tcp.port = $(api_port "$i")
EOF
    if [ -n "$seed" ]; then  # a new node joins the first one as it boots (classic peer discovery)
        printf 'cluster_formation.peer_discovery_backend = classic_config\n' >>"$dir/rabbitmq.conf"
        printf 'cluster_formation.classic_config.nodes.1 = %s\n' "$seed" >>"$dir/rabbitmq.conf"
    fi
    echo '[rabbitmq_management].' >"$dir/enabled_plugins"
    rm -f "$dir/pid"
    if [ "$(id -u)" = 0 ]; then chown -R rabbitmq:rabbitmq "$dir"; fi
    say "starting $(node_name "$i") (AMQP :$(amqp_port "$i"), management :$(api_port "$i"))"
    # RABBITMQ_ALLOW_INPUT makes the script exec the VM (the pid file's process is the server);
    # -noinput keeps it from reading a shell from stdin.
    (cd "$dir" && exec setsid "${AS_RABBIT[@]}" \
        RABBITMQ_NODENAME="$(node_name "$i")" \
        RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
        RABBITMQ_NODE_PORT="$(amqp_port "$i")" \
        RABBITMQ_DIST_PORT="$(dist_port "$i")" \
        RABBITMQ_MNESIA_BASE="$dir/mnesia" \
        RABBITMQ_LOG_BASE="$dir/log" \
        RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" \
        RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
        RABBITMQ_FEATURE_FLAGS_FILE="$dir/feature_flags" \
        RABBITMQ_PID_FILE="$dir/pid" \
        RABBITMQ_ALLOW_INPUT=1 RABBITMQ_SERVER_START_ARGS=-noinput \
        "$SERVER" </dev/null >>"$dir/stdout.log" 2>&1) &
}

wait_ready() {  # wait_ready I: the node booted (pid file, app running) and its management API answers
    local i=$1 dir; dir=$(node_dir "$i")
    local deadline=$((SECONDS + 120))
    until [ -s "$dir/pid" ] && ctl "$i" await_startup --timeout 5 >/dev/null 2>&1 \
            && port_open "$(api_port "$i")"; do
        if ((SECONDS >= deadline)); then
            say "$(node_name "$i") did not start in 120 s; its logs: $dir/log/ and $dir/stdout.log"
            tail -n 20 "$dir/stdout.log" >&2 || true
            exit 1
        fi
        sleep 0.5
    done
}

members() { ctl 1 cluster_status --formatter json | python3 -c \
    'import json, sys; print(" ".join(sorted(json.load(sys.stdin)["running_nodes"])))'; }

up() {
    preflight
    local i todo=()
    for i in $(seq "$NODES"); do
        if running "$i"; then say "$(node_name "$i") already runs"; else todo+=("$i"); fi
    done
    if ((${#todo[@]})); then
        if [ ! -d "$(node_dir 1)/mnesia" ]; then
            # A new cluster: node 1 first, then the others join it as they boot.
            launch 1; wait_ready 1
            for i in "${todo[@]:1}"; do launch "$i" "$(node_name 1)"; done
        else
            # Nodes of an existing cluster wait for each other at boot: start them together.
            for i in "${todo[@]}"; do launch "$i"; done
        fi
        for i in "${todo[@]}"; do wait_ready "$i"; done
        for i in $(seq 2 "$NODES"); do
            if ! members | grep -qw "$(node_name "$i")"; then
                say "joining $(node_name "$i") to $(node_name 1)"
                ctl "$i" stop_app; ctl "$i" join_cluster "$(node_name 1)"; ctl "$i" start_app
            fi
        done
    fi
    say "cluster: $(members)"
    local uris=()
    for i in $(seq "$NODES"); do uris+=("pyamqp://guest:guest@127.0.0.1:$(amqp_port "$i")"); done
    say "management http://127.0.0.1:$(api_port 1)  (guest/guest; any node's port works)"
    (IFS=';'; echo "AMQP_URI='${uris[*]}'")
}

down() {
    local i pid file pids=()
    for i in $(seq "$NODES"); do
        file="$(node_dir "$i")/pid"
        [ -f "$file" ] || continue
        pid=$(cat "$file")
        if kill -0 "$pid" 2>/dev/null; then
            say "stopping $(node_name "$i") (pid $pid)"
            kill -TERM "$pid"  # the VM stops RabbitMQ gracefully on SIGTERM
            pids+=("$pid")
        fi
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    for i in $(seq "$NODES"); do rm -f "$(node_dir "$i")/pid"; done
}

status() {
    local i state
    for i in $(seq "$NODES"); do
        if running "$i"; then state="running (pid $(cat "$(node_dir "$i")/pid"))"; else state="stopped"; fi
        if port_open "$(amqp_port "$i")"; then state+=", AMQP answers"; fi
        say "$(node_name "$i")  AMQP :$(amqp_port "$i")  management :$(api_port "$i")  $state"
    done
    for i in $(seq "$NODES"); do
        running "$i" && port_open "$(amqp_port "$i")" || continue
        ctl "$i" cluster_status --formatter json | python3 -c '
import json, sys
status = json.load(sys.stdin)
print("[rabbit-cluster] members:", " ".join(sorted(status["disk_nodes"])))
print("[rabbit-cluster] running:", " ".join(sorted(status["running_nodes"])))'
        return
    done
    say "membership: no node is running"
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
