#!/usr/bin/env bash
# The whole stack on this machine: Temporal dev server + Web UI, database schema, worker, API.
# Ctrl-C stops everything cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_node_deps
exec node_modules/.bin/tsx scripts/up.ts "$@"
