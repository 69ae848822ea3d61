#!/usr/bin/env bash
# What the browser tests need besides the Python environment: Debian's chromium and npm's playwright-core
# (pinned in tests/browser/package.json). Playwright never downloads a browser here. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium (Debian package) for the browser tests ..."
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  ($SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium) > /tmp/rvm_nb_apt.log 2>&1 \
    || { echo "apt-get install chromium failed; see /tmp/rvm_nb_apt.log" >&2; exit 1; }
fi
if [ ! -f tests/browser/node_modules/playwright-core/package.json ]; then
  echo "installing playwright-core (npm) for the browser tests ..."
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)  # errors still printed
fi
