#!/usr/bin/env bash
# One run, one machine: PostgreSQL's own select-by-key and single-row-insert rates
# (pg_limit.sh, pgbench), then Rolegate's GET, POST and permission check under the same
# concurrency, and the ratios between them.
#   bash benches/ratios.sh            # wrk, 16 connections, 10 s per case (pgbench alike)
#   CLIENT=builtin bash benches/ratios.sh   # the benchmark's own HTTP client, 8 at a time
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${CLIENT:-wrk}" = wrk ] && ! command -v wrk >/dev/null; then
  apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi
if [ "${CLIENT:-wrk}" = wrk ]; then C=${C:-16}; else C=${C:-8}; fi
limits=$(C=$C T=${T:-10} bash benches/pg_limit.sh)
echo "$limits"
export PG_SELECT_TPS=$(sed -n 's/.*select_tps=\([0-9.]*\).*/\1/p' <<<"$limits")
export PG_INSERT_TPS=$(sed -n 's/.*insert_tps=\([0-9.]*\).*/\1/p' <<<"$limits")
if [ "${CLIENT:-wrk}" = wrk ]; then
  cargo bench --bench scim_load -- --wrk --seconds "${T:-10}"
else
  cargo bench --bench scim_load -- --requests "${REQUESTS:-2000}"
fi
