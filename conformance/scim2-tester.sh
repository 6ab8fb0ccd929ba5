#!/usr/bin/env bash
# Runs the independent SCIM checker scim2-tester against the built binary on a fresh
# tenant of a fresh embedded cluster. Usage: conformance/scim2-tester.sh [path/to/rolegate]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
binary=${1:-"$here/../target/release/rolegate"}
venv=${SCIM_VENV:-"$here/.venv"}
port=${PORT:-18181}

if [ ! -x "$venv/bin/scim2" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet -r "$here/requirements.txt"
fi

work=$(mktemp -d /tmp/rolegate-conformance.XXXXXX)
chmod 755 "$work"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

unset DATABASE_URL
"$binary" --data-dir "$work/data" --log-level warn serve --listen "127.0.0.1:$port" >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
for _ in $(seq 1 100); do
    grep -q 'SCIM token:' "$work/serve.out" 2>/dev/null && curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break
    sleep 0.2
done
token=$(sed -n 's/^SCIM token: *//p' "$work/serve.out")
if [ -z "$token" ]; then
    echo "the server did not start:" >&2
    cat "$work/serve.out" "$work/serve.err" >&2
    exit 1
fi

set +e
"$venv/bin/scim2" -u "http://127.0.0.1:$port/scim/v2" -h "Authorization: Bearer $token" test >"$work/result.txt" 2>&1
status=$?
set -e
successes=$(grep -c '^SUCCESS' "$work/result.txt" || true)
failures=$(grep -c '^ERROR\|^CRITICAL' "$work/result.txt" || true)
skipped=$(grep -c '^SKIPPED' "$work/result.txt" || true)
if [ "$status" -ne 0 ] || [ "$failures" -ne 0 ] || [ "$skipped" -ne 0 ]; then
    grep -v '^SUCCESS' "$work/result.txt" | grep -A3 '^[A-Z]' >&2 || cat "$work/result.txt" >&2
fi
echo "scim2-tester: $successes passed, $failures failed, $skipped skipped"
[ "$status" -eq 0 ] && [ "$failures" -eq 0 ] && [ "$skipped" -eq 0 ]
