#!/usr/bin/env bash
# `make test-local`: the e2e suite (and tests/samlocal) against `make local`, SAM CLI's own sam local start-api.
#   1. a Docker engine: the one that answers, else a private one (scripts/engine.sh) that is stopped at the end
#   2. `devstack local` (what `make local` runs) on free ports, with a state dir and a temp dir of its own
#      (never in the way of `make dev`, `make local` or their data); SAM's base image as `make local` gets it
#   3. BASE_URL=... pytest tests/e2e tests/samlocal (SAM's differences from HTTP API skipped by name), then
#      SIGTERM: devstack local stops SAM (which removes its container) and the emulators
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$PROJECT_ROOT"

engine_for_suite
if [[ "${STAND_INS:-$(uses_private_engine && echo 1)}" == 1 ]]; then
  tests/compose/stand-ins/build.sh lambda-python
fi

read -r AWS_EMULATOR_PORT FIREBASE_AUTH_PORT GATEWAY_PORT APP_PORT RIE_PORT RUNTIME_API_PORT LAMBDA_API_PORT \
  LOCAL_API_PORT < <(devstack_ask free-ports 8)
export AWS_EMULATOR_PORT FIREBASE_AUTH_PORT GATEWAY_PORT APP_PORT RIE_PORT RUNTIME_API_PORT LAMBDA_API_PORT \
  LOCAL_API_PORT
DEVSTACK_STATE_DIR="$(mktemp -d "${TMPDIR:-/tmp}/test-local.XXXXXX")"
export DEVSTACK_STATE_DIR
# firebase-tools keeps a per-project hub file in the temp dir: one of its own, away from a running make dev.
mkdir -p "$DEVSTACK_STATE_DIR/tmp"
log="$DEVSTACK_STATE_DIR/devstack-local.log"

pid=""
finish() {
  local status=$?
  if [[ -n "$pid" ]]; then
    printf '\n==> stopping devstack local\n'
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if (( STARTED_ENGINE )); then scripts/engine.sh stop; fi
  (( status == 0 )) || { printf '\n--- devstack local, last lines ---\n' >&2; tail -n 40 "$log" >&2 || true; }
  rm -rf "$DEVSTACK_STATE_DIR"
  exit "$status"
}
trap finish EXIT

printf '\n==> devstack local (sam local start-api on :%s)\n' "$LOCAL_API_PORT"
started=$SECONDS
TMPDIR="$DEVSTACK_STATE_DIR/tmp" .venv/bin/devstack local >"$log" 2>&1 &
pid=$!
until [[ -f "$DEVSTACK_STATE_DIR/run/dev.json" ]]; do
  kill -0 "$pid" 2>/dev/null || die "devstack local exited before it was up (its last lines below)."
  (( SECONDS - started < 300 )) || die "devstack local not up in 300 s (its last lines below)."
  sleep 0.5
done
printf 'up in %ss\n' "$((SECONDS - started))"

printf '\n==> the e2e suite and tests/samlocal against it\n'
BASE_URL="http://127.0.0.1:$LOCAL_API_PORT" uv run --frozen pytest -p no:cacheprovider tests/e2e tests/samlocal "$@"
