#!/usr/bin/env bash
# Replays the request sequences Microsoft Entra ID and Okta send (conformance/replays/*.json)
# against the built binary, each suite on a fresh tenant of a fresh embedded cluster.
# Usage: conformance/replays.sh [path/to/rolegate]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
binary=${1:-"$here/../target/release/rolegate"}
. "$here/lib.sh"

failed=0
for suite in "$here"/replays/*.json; do
    start_rolegate "$binary" "${PORT:-18182}"
    python3 "$here/replay.py" "$base" "$token" "$suite" || failed=1
    stop_rolegate
    trap - EXIT
done
exit "$failed"
