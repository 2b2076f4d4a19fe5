#!/usr/bin/env bash
# Everything CI runs: lint, format, typecheck, migration drift check, the Jest suite on real
# servers (a Temporal dev server it starts itself, and the PostgreSQL on 127.0.0.1:5432), then
# the cluster test (a Temporal cluster on that PostgreSQL, through scripts/up.sh --cluster).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_node_deps

export TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"

echo "== lint"
npx eslint . --max-warnings 0
npx prettier --check . >/dev/null || { npx prettier --check .; exit 1; }
echo "== typecheck"
npx tsc --noEmit
echo "== PostgreSQL"
npx tsx scripts/check-postgres.ts "$TEST_POSTGRES_URL"
echo "== migration drift (schema.prisma vs prisma/migrations)"
DATABASE_URL="$TEST_POSTGRES_URL" npx prisma migrate diff --from-migrations prisma/migrations \
  --to-schema-datamodel prisma/schema.prisma --exit-code >/dev/null \
  || { echo "prisma/schema.prisma and prisma/migrations differ: add a migration (see README)" >&2; exit 1; }
echo "== Temporal CLI"
npx tsx scripts/temporal-cli.ts
echo "== Temporal UI server (built with Go once per machine, cached in ~/.cache/reform-pilots/temporal-ui/)"
npx tsx scripts/temporal-ui.ts
if [ "$#" -eq 0 ]; then
  echo "== Temporal server $(grep -o "TEMPORAL_SERVER_VERSION = '[^']*'" scripts/temporal-cluster.ts | cut -d"'" -f2) (built with Go once per machine, cached in ~/.cache/reform-pilots/temporal-server/)"
  npx tsx scripts/temporal-cluster.ts
fi
ensure_browser
ensure_dovecot
echo "== jest"
npx jest "$@"
# The cluster test on its own after the suite (jest.cluster.config.js); with arguments, only what they name.
if [ "$#" -eq 0 ]; then
  echo "== cluster (scripts/up.sh --cluster: Temporal's services on PostgreSQL, two workers, two APIs)"
  npx jest -c jest.cluster.config.js
fi
