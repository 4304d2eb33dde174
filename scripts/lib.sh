#!/usr/bin/env bash
# The one shell library: the local facts (devstack/devstack.env, localstack/localstack.env), the tool cache
# on PATH, and friendly failures. Sourced by every script; run directly it prints one fact for the Makefile
# and devstack.config: `scripts/lib.sh tools-cache|tools-bin|lambda-python`.
# shellcheck shell=bash
PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# KEY=VALUE lines, exported; a variable the caller already set wins (GATEWAY_PORT=3100 make up).
load_facts() {
  local key value
  while IFS='=' read -r key value; do
    [[ "$key" =~ ^[A-Z_][A-Z0-9_]*$ ]] || continue
    [[ -n "${!key+set}" ]] || eval "export $key=\"$value\""  # a value may use ${KEY} of a line above
  done <"$1"
}
load_facts "$PROJECT_ROOT/devstack/devstack.env"
load_facts "$PROJECT_ROOT/localstack/localstack.env"
TOOLS_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/$TOOLS_CACHE_NAME"
mkdir -p "$TOOLS_CACHE/bin"
export UV_TOOL_DIR="$TOOLS_CACHE/uv-tools" UV_TOOL_BIN_DIR="$TOOLS_CACHE/bin"
# uv must never download a Python build: it uses the machine's interpreters.
export UV_PYTHON_DOWNLOADS=never SAM_CLI_TELEMETRY=0
export PATH="$TOOLS_CACHE/bin:$PATH"

step() { printf '\n==> %s\n' "$*"; }
die() { printf '\nerror: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed. $2"; }

# `npm ci` in DIR from its package-lock.json, skipped while node_modules was installed from that very lock.
npm_ci_locked() {
  local dir="$1" lock_hash stamp="$1/node_modules/.installed-from"
  need node "Install Node.js 20+ (e.g. apt-get install nodejs npm)."
  lock_hash=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$lock_hash" ]; then
    echo "npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$lock_hash" > "$stamp"
  fi
}

# Lambda's interpreter (CPython 3.13) when the machine has one: on PATH, or under pyenv.
lambda_python() {
  local candidate
  for candidate in "$(command -v python3.13 2>/dev/null)" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13.*/bin/python3.13; do
    # A pyenv shim can exist for a version that is not active: it must actually run.
    [ -x "$candidate" ] && "$candidate" -c 'import sys' 2>/dev/null && { echo "$candidate"; return 0; }
  done
  return 1
}

# Point AWS clients at the local emulator (never at AWS): its endpoint, region and dummy credentials.
use_emulator() {
  export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:$AWS_EMULATOR_PORT}"
  export AWS_ACCESS_KEY_ID="$AWS_EMULATOR_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$AWS_EMULATOR_SECRET_ACCESS_KEY"
  export AWS_DEFAULT_REGION="$AWS_EMULATOR_REGION" AWS_REGION="$AWS_EMULATOR_REGION"
  unset AWS_PROFILE AWS_SESSION_TOKEN
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  case "${1:-}" in
    tools-cache) echo "$TOOLS_CACHE" ;;
    tools-bin) echo "$TOOLS_CACHE/bin" ;;
    lambda-python) lambda_python ;;
    *) echo "usage: scripts/lib.sh tools-cache|tools-bin|lambda-python (or source it)" >&2; exit 2 ;;
  esac
fi
