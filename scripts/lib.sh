#!/usr/bin/env bash
# The one shell library: the local facts (devstack/devstack.env, localstack/localstack.env), the tool cache
# on PATH, and friendly failures. Sourced by every script; run directly it answers the Makefile and CI:
# `scripts/lib.sh tools-cache|tools-bin`, `scripts/lib.sh pins KEY...` (KEY=VALUE lines of the facts) and
# `scripts/lib.sh ask QUESTION...` (devstack_ask below).
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

# What the tool chain is (paths from pins, Lambda's interpreter, the requirements export, samconfig's stack
# names ...) is defined in devstack, in Python: ask it (`devstack_ask lambda-python`; the questions are listed
# in devstack/src/devstack/for_shell.py). It needs only the standard library, so before `make install` made
# the project's .venv the machine's python3 answers.
devstack_ask() {
  local python="$PROJECT_ROOT/.venv/bin/python"
  [[ -x "$python" ]] || python=python3
  PYTHONPATH="$PROJECT_ROOT/devstack/src" "$python" -m devstack.for_shell "$@"
}

# Point AWS clients at the local emulator (never at AWS): its endpoint, region and dummy credentials.
use_emulator() {
  export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:$AWS_EMULATOR_PORT}"
  export AWS_ACCESS_KEY_ID="$AWS_EMULATOR_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$AWS_EMULATOR_SECRET_ACCESS_KEY"
  export AWS_DEFAULT_REGION="$AWS_EMULATOR_REGION" AWS_REGION="$AWS_EMULATOR_REGION"
  unset AWS_PROFILE AWS_SESSION_TOKEN
}

# Is DOCKER_HOST the private engine scripts/engine.sh started (no registry reachable: stand-in images)?
uses_private_engine() {
  [[ "$(scripts/engine.sh status 2>/dev/null)" == *"private engine: dockerd pid"*"answers at ${DOCKER_HOST:-none}"* ]]
}

# A Docker engine for a suite: the one that answers, else a private one (scripts/engine.sh), DOCKER_HOST set.
# STARTED_ENGINE=1 when this call started it: the suite stops it at the end, and only then.
# shellcheck disable=SC2034  # STARTED_ENGINE is read by the suite's finish handler
engine_for_suite() {
  STARTED_ENGINE=0
  if ! docker info >/dev/null 2>&1 && ! scripts/engine.sh env >/dev/null 2>&1; then
    STARTED_ENGINE=1
  fi
  eval "$(scripts/engine.sh start)"
}

# The files a commit would hold (tracked, plus new ones .gitignore does not exclude), optionally by pattern.
tracked() { git ls-files --cached --others --exclude-standard "$@"; }

# A Go tool built once into the tool cache (devstack.tools.go_tool). Prints its path: go_tool NAME PACKAGE VERSION.
go_tool() { devstack_ask go-tool "$@"; }

# Named checks, each timed, all run (one failure does not hide the next): run_check NAME COMMAND...,
# then check_summary TITLE prints one line per check and fails if any failed. A check that cannot run
# here returns CHECK_SKIPPED after setting SKIP_REASON: it is listed as skipped, with the reason, not passed.
CHECK_SKIPPED=75
declare -a CHECK_LINES=()
CHECKS_FAILED=0
CHECKS_SKIPPED=0
run_check() {
  local name="$1" start took status=0
  shift
  printf '\n── %s\n' "$name"
  SKIP_REASON=""
  start=$EPOCHREALTIME
  "$@" || status=$?
  took=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  if ((status == 0)); then
    CHECK_LINES+=("$(printf '  ✓ %-40s %6ss' "$name" "$took")")
  elif ((status == CHECK_SKIPPED)); then
    CHECK_LINES+=("$(printf '  ○ %-40s %6ss  skipped: %s' "$name" "$took" "$SKIP_REASON")")
    CHECKS_SKIPPED=$((CHECKS_SKIPPED + 1))
  else
    CHECK_LINES+=("$(printf '  ✗ %-40s %6ss  (exit %d)' "$name" "$took" "$status")")
    CHECKS_FAILED=1
  fi
}
check_summary() {
  printf '\n%s:\n' "$1"
  printf '%s\n' "${CHECK_LINES[@]}"
  if ((CHECKS_FAILED)); then
    echo "✗ some checks failed" >&2
    return 1
  fi
  if ((CHECKS_SKIPPED)); then
    echo "✓ all passed that could run; $CHECKS_SKIPPED skipped (reason above)"
  else
    echo "✓ all passed"
  fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  case "${1:-}" in
    tools-cache) echo "$TOOLS_CACHE" ;;
    tools-bin) echo "$TOOLS_CACHE/bin" ;;
    pins)
      for key in "${@:2}"; do
        [[ -n "${!key+set}" ]] || die "$key is in neither devstack/devstack.env nor localstack/localstack.env"
        echo "$key=${!key}"
      done
      ;;
    ask) devstack_ask "${@:2}" ;;
    *) echo "usage: scripts/lib.sh tools-cache|tools-bin|pins KEY...|ask QUESTION... (or source it)" >&2; exit 2 ;;
  esac
fi
