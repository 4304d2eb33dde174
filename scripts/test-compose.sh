#!/usr/bin/env bash
# `make test-compose`: the compose stack built and run for real, then the e2e suite and tests/compose against it.
#   1. a Docker engine: the one that answers, else a private one (scripts/engine.sh) that is stopped at the end
#   2. the stack in a project of its own on free ports (never in the way of `make up` or `make dev`), started
#      by scripts/compose.sh (stand-ins for the upstream images on the private engine)
#   3. BASE_URL=... pytest tests/e2e tests/compose, then `docker compose down -v`
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$PROJECT_ROOT"

engine_for_suite
docker compose version >/dev/null 2>&1 || eval "$(scripts/compose-plugin.sh)"

# Free ports for every published port, and a project name of its own.
read -r AWS_EMULATOR_PORT FIREBASE_AUTH_PORT APP_PORT GATEWAY_PORT LAMBDA_API_PORT DEBUG_PORT < <(devstack_ask free-ports 6)
export AWS_EMULATOR_PORT FIREBASE_AUTH_PORT APP_PORT GATEWAY_PORT LAMBDA_API_PORT DEBUG_PORT
export COMPOSE_PROJECT_NAME="fastapi-lambda-test-$$"

finish() {
  local status=$?
  printf '\n==> docker compose down -v (%s)\n' "$COMPOSE_PROJECT_NAME"
  docker compose down -v --remove-orphans >/dev/null 2>&1 || true
  if (( STARTED_ENGINE )); then scripts/engine.sh stop; fi
  exit "$status"
}
trap finish EXIT

printf '\n==> docker compose up --build --wait (project %s, API on :%s)\n' "$COMPOSE_PROJECT_NAME" "$GATEWAY_PORT"
started=$SECONDS
scripts/compose.sh up
printf 'up in %ss\n' "$((SECONDS - started))"

printf '\n==> the e2e suite and the compose tests against it\n'
BASE_URL="http://127.0.0.1:$GATEWAY_PORT" uv run --frozen pytest -p no:cacheprovider tests/e2e tests/compose
