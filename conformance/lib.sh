# Shared by the conformance scripts: start the built binary on a fresh embedded cluster
# and read the first tenant's token. Sets $base, $token and $work; stops everything on exit.
# Usage: start_rolegate BINARY PORT

start_rolegate() {
    local binary=$1 port=$2
    work=$(mktemp -d /tmp/rolegate-conformance.XXXXXX)
    chmod 755 "$work"
    server_pid=""
    trap stop_rolegate EXIT
    unset DATABASE_URL
    "$binary" --data-dir "$work/data" --log-level warn serve --listen "127.0.0.1:$port" \
        >"$work/serve.out" 2>"$work/serve.err" &
    server_pid=$!
    for _ in $(seq 1 150); do
        grep -q 'SCIM token:' "$work/serve.out" 2>/dev/null \
            && python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
                "http://127.0.0.1:$port/healthz" 2>/dev/null && break
        sleep 0.2
    done
    token=$(sed -n 's/^SCIM token: *//p' "$work/serve.out")
    base="http://127.0.0.1:$port/scim/v2"
    if [ -z "$token" ]; then
        echo "the server did not start:" >&2
        cat "$work/serve.out" "$work/serve.err" >&2
        exit 1
    fi
}

stop_rolegate() {
    if [ -n "${server_pid:-}" ]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
