# Shared by the README's two commands: make a fresh clone runnable without asking anything.
# shellcheck shell=bash

ensure_node_deps() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "Node.js 20+ with npm is needed (https://nodejs.org)" >&2
    exit 1
  fi
  if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "== installing npm dependencies (npm ci)"
    npm ci --no-audit --no-fund
  fi
  if [ ! -f generated/prisma/client.ts ] || [ prisma/schema.prisma -nt generated/prisma/client.ts ]; then
    echo "== generating the Prisma client"
    npx prisma generate >/dev/null
  fi
}
