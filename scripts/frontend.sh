#!/usr/bin/env bash
# The test page (gateway_ui) alone, in the background: `start` runs it with a pid file and waits
# until it answers, `stop` stops only the process `start` started, `status` says whether it runs.
# Settings come from the environment, as in gateway_ui/config.yaml: GATEWAY_UI_ADDRESS
# (127.0.0.1:8081), BROKER_URL (http://localhost:8080), MAIL_UI_URL (http://localhost:8025).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
STATE="$ROOT/.local"            # git-ignored: pid files and logs
PID_FILE="$STATE/pids/frontend.pid"
LOG_FILE="$STATE/logs/frontend.log"
ADDRESS=${GATEWAY_UI_ADDRESS:-127.0.0.1:8081}
PORT=${ADDRESS##*:}
mkdir -p "$STATE/pids" "$STATE/logs"

say() { printf '[frontend] %s\n' "$*"; }
# shellcheck source=scripts/processes.sh
source scripts/processes.sh

running() { [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }

answers() { curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/ping" 2>/dev/null; }

start() {
    if running; then
        say "already running (pid $(cat "$PID_FILE")) on http://localhost:$PORT"
        return
    fi
    if answers; then
        say "something else already answers on :$PORT; not starting a second page"
        return 1
    fi
    # exec: the pid in the file is nameko's own, so `stop` signals the server itself.
    nohup bash -c 'exec "$0"/.venv/bin/nameko run --config gateway_ui/config.yaml gateway_ui.service' \
        "$ROOT" >"$LOG_FILE" 2>&1 &
    echo $! >"$PID_FILE"
    for _ in $(seq 100); do
        if answers; then
            say "test page on http://localhost:$PORT (pid $(cat "$PID_FILE"), log $LOG_FILE)"
            return
        fi
        running || break
        sleep 0.2
    done
    say "the test page did not answer on :$PORT; last lines of $LOG_FILE:"
    tail -n 20 "$LOG_FILE" >&2
    stop
    return 1
}

stop() {
    if ! running; then
        rm -f "$PID_FILE"
        say "not running"
        return
    fi
    stop_pid_file "$PID_FILE"
}

status() {
    if running; then say "running (pid $(cat "$PID_FILE")) on :$PORT"; else say "not running"; fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
