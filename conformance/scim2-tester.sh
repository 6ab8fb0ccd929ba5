#!/usr/bin/env bash
# Runs the independent SCIM checker scim2-tester against the built binary on a fresh
# tenant of a fresh embedded cluster. Usage: conformance/scim2-tester.sh [path/to/rolegate]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
binary=${1:-"$here/../target/release/rolegate"}
venv=${SCIM_VENV:-"$here/.venv"}
. "$here/lib.sh"

if [ ! -x "$venv/bin/scim2" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet -r "$here/requirements.txt"
fi

start_rolegate "$binary" "${PORT:-18181}"

set +e
"$venv/bin/scim2" -u "$base" -h "Authorization: Bearer $token" test >"$work/result.txt" 2>&1
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
