# Sourced by infra.sh and frontend.sh (each defines `say`): stopping a daemon they started.

stop_pid_file() {  # stop_pid_file FILE [LABEL]: TERM the process in FILE, KILL it after 5 s; drop FILE
    local file=$1 label=${2:-} pid
    [ -f "$file" ] || return 0
    pid=$(cat "$file")
    if kill -0 "$pid" 2>/dev/null; then
        say "stopping ${label:+$label }(pid $pid)"
        kill "$pid"
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
}
