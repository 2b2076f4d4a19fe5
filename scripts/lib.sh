# Shared by the README's two commands: make a fresh clone runnable without asking anything.
# shellcheck shell=bash

# The project runs on the Node LTS pinned in .nvmrc. Where the machine's Node is older (Node 20 went
# out of support in April 2026), the pinned build comes from the npm registry (the node-<os>-<arch>
# package ships the official binary), cached per version outside the clone, and goes first on PATH
# for everything these scripts start.
ensure_node() {
  local want major have os arch cache
  want="$(tr -d ' \n' < .nvmrc)"
  major="${want%%.*}"
  have="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  if [ "$have" -ge "$major" ] 2>/dev/null; then return 0; fi
  if ! command -v npm >/dev/null; then
    echo "Node.js ${major}+ with npm is needed (https://nodejs.org)" >&2
    exit 1
  fi
  case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) echo "unsupported OS $(uname -s)" >&2; exit 1 ;; esac
  case "$(uname -m)" in x86_64 | amd64) arch=x64 ;; aarch64 | arm64) arch=arm64 ;; *) echo "unsupported CPU $(uname -m)" >&2; exit 1 ;; esac
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/reform-pilots/node/${want}"
  if [ ! -x "$cache/node_modules/node-$os-$arch/bin/node" ]; then
    echo "== Node $(node -v 2>/dev/null || echo none) is older than ${major}: installing Node ${want} from the npm registry (node-$os-$arch)"
    mkdir -p "$cache"
    npm install --prefix "$cache" --no-save --no-audit --no-fund --no-package-lock "node-$os-$arch@${want}" >/dev/null
  fi
  export PATH="$cache/node_modules/node-$os-$arch/bin:$PATH"
  echo "== using Node $(node -v) ($cache)"
}

ensure_node_deps() {
  ensure_node
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

# The e-mail intake's tests run a throw-away Dovecot of their own (test/support/dovecot.ts); only
# the binary is needed: the package's system service is neither started nor used.
ensure_dovecot() {
  if [ -x "${DOVECOT_PATH:-/usr/sbin/dovecot}" ]; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing Dovecot for the e-mail intake tests (apt-get dovecot-imapd; its service is not started)"
    # The package's postinst would start the system service (ports 143/993): policy-rc.d says no.
    local policy=/usr/sbin/policy-rc.d made=""
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && made=1
    fi
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dovecot-imapd >/dev/null
    if [ -n "$made" ]; then rm -f "$policy"; fi
  else
    echo "Dovecot is needed for the e-mail intake tests: apt-get install dovecot-imapd (or set DOVECOT_PATH)" >&2
  fi
}
