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

# The Web UI check drives Debian's Chromium (no browser download); CJK fonts make its screenshots readable.
ensure_browser() {
  if [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] && fc-list 2>/dev/null | grep -qi 'wqy\|noto.*cjk'; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing Chromium and CJK fonts (apt-get)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
  else
    echo "Chromium is needed for the Web UI test: apt-get install chromium fonts-wqy-microhei (or set CHROMIUM_PATH)" >&2
  fi
}
