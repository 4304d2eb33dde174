#!/usr/bin/env bash
# `make install-browser`: what the browser test (tests/browser) needs beyond `make install`, each step skipped
# when already done: Debian's Chromium and its chromedriver (apt-get, as root or with password-less sudo)
# and the Firebase JS SDK its page loads (tests/browser/package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

step "Chromium and chromedriver (Debian packages chromium, chromium-driver)"
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  fix="Install them (Debian: apt-get install chromium chromium-driver), then run make install-browser again."
  if [ "$(id -u)" = 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo)
  else
    die "No chromium or chromedriver on PATH, and no root to install them. $fix"
  fi
  command -v apt-get >/dev/null 2>&1 || die "No chromium or chromedriver on PATH, and no apt-get. $fix"
  echo "apt-get install chromium chromium-driver (first time: about 1 minute, 250 MB)"
  { "${as_root[@]}" apt-get update -qq \
    && "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; } \
    || die "apt-get could not install Chromium. $fix"
fi
# Debian's chromium wrapper script prints a harmless shell warning on stderr.
echo "$(chromium --version 2>/dev/null), $(chromedriver --version | cut -d' ' -f1-2)"

step "Firebase JS SDK for the test's page (npm)"
npm_ci_locked tests/browser
echo "firebase $(node -p 'require("./tests/browser/node_modules/firebase/package.json").version')"
