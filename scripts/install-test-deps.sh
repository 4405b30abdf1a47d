#!/usr/bin/env bash
# Installs what the browser tests need, and nothing when it is already there:
#   - Debian's chromium and chromium-driver (when /usr/bin/chromedriver is absent);
#   - axe-core from npm, pinned, into target/test-deps/ (outside git).
# The browser test harness runs this itself when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

AXE_VERSION="4.10.3"
DEPS_DIR="${TOURGATE_TEST_DEPS_DIR:-target/test-deps}"
AXE_JS="$DEPS_DIR/node_modules/axe-core/axe.min.js"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if [ ! -x /usr/bin/chromedriver ] || [ ! -x /usr/bin/chromium ]; then
  echo "install-test-deps: installing chromium and chromium-driver with apt-get"
  as_root apt-get update -q
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends \
    chromium chromium-driver fonts-dejavu-core
fi

installed_axe_version() {
  DEPS_DIR="$DEPS_DIR" node -p \
    "require(require('path').resolve(process.env.DEPS_DIR, 'node_modules/axe-core/package.json')).version" \
    2>/dev/null || true
}

if [ ! -f "$AXE_JS" ] || [ "$(installed_axe_version)" != "$AXE_VERSION" ]; then
  echo "install-test-deps: installing axe-core@$AXE_VERSION from npm into $DEPS_DIR"
  if ! command -v npm >/dev/null 2>&1; then
    as_root apt-get update -q
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends npm
  fi
  mkdir -p "$DEPS_DIR"
  npm install --prefix "$DEPS_DIR" --no-save --no-audit --no-fund --no-package-lock \
    "axe-core@$AXE_VERSION"
fi

for f in /usr/bin/chromium /usr/bin/chromedriver "$AXE_JS"; do
  [ -e "$f" ] || { echo "install-test-deps: $f is still missing" >&2; exit 1; }
done
echo "install-test-deps: chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'), axe-core $(installed_axe_version)"
