#!/usr/bin/env bash
# The whole stack on this machine: Temporal dev server + Web UI, database schema, worker, API.
# Ctrl-C stops everything cleanly. up.ts replaces this shell and runs as one node process (tsx as
# a loader, not its CLI, which would add a process between) so that a SIGTERM to this pid or the
# terminal's SIGINT reaches it directly, and its exit status is the script's.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_node_deps
exec node --import tsx scripts/up.ts "$@"
