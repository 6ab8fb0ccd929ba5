#!/usr/bin/env bash
# One run, one machine: PostgreSQL's own select-by-key and single-row-insert rates
# (pg_limit.sh, pgbench), then Rolegate's GET, POST and permission check under the same
# concurrency, and the ratios between them.
#   bash benches/ratios.sh            # T=10 C=8 for pgbench; 2,000 requests per case
set -euo pipefail
cd "$(dirname "$0")/.."
limits=$(C=${C:-8} bash benches/pg_limit.sh)
echo "$limits"
export PG_SELECT_TPS=$(sed -n 's/.*select_tps=\([0-9.]*\).*/\1/p' <<<"$limits")
export PG_INSERT_TPS=$(sed -n 's/.*insert_tps=\([0-9.]*\).*/\1/p' <<<"$limits")
cargo bench --bench scim_load -- --requests "${REQUESTS:-2000}"
