#!/usr/bin/env bash
# backend/requirements.txt is what sam build installs into the zip: it must match uv.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
expected=$(uv export --frozen --package backend --no-dev --no-hashes --no-emit-workspace --no-header --no-annotate)
if ! diff -u backend/requirements.txt <(printf '%s\n' "$expected") >/dev/null; then
  echo "backend/requirements.txt is out of date with uv.lock. Run: make requirements" >&2
  exit 1
fi
