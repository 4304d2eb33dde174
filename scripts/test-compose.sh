#!/usr/bin/env bash
# `make test-compose`: the compose stack built and run for real, then the e2e suite and tests/compose against it.
#   1. a Docker engine: the one that answers, else a private one (scripts/engine.sh) that is stopped at the end
#   2. images no registry serves here: stand-ins under the upstream names (tests/compose/stand-ins), when the
#      engine is the private one (STAND_INS=1 forces them, STAND_INS=0 lets compose pull the real images)
#   3. the stack in a project of its own on free ports (never in the way of `make up` or `make dev`)
#   4. BASE_URL=... pytest tests/e2e tests/compose, then `docker compose down -v`
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$PROJECT_ROOT"

started_engine=0
if ! docker info >/dev/null 2>&1 && ! scripts/engine.sh env >/dev/null 2>&1; then
  started_engine=1
fi
eval "$(scripts/engine.sh start)"
docker compose version >/dev/null 2>&1 || eval "$(scripts/compose-plugin.sh)"

# Free ports for every published port, and a project name of its own.
read -r AWS_EMULATOR_PORT FIREBASE_AUTH_PORT APP_PORT GATEWAY_PORT < <(python3 -c '
import socket
sockets = [socket.socket() for _ in range(4)]
for s in sockets: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in sockets))')
export AWS_EMULATOR_PORT FIREBASE_AUTH_PORT APP_PORT GATEWAY_PORT
export COMPOSE_PROJECT_NAME="fastapi-lambda-test-$$"

finish() {
  local status=$?
  printf '\n==> docker compose down -v (%s)\n' "$COMPOSE_PROJECT_NAME"
  docker compose down -v --remove-orphans >/dev/null 2>&1 || true
  if (( started_engine )); then scripts/engine.sh stop; fi
  exit "$status"
}
trap finish EXIT

private_engine=0
[[ "$(scripts/engine.sh status 2>/dev/null)" == *"private engine: dockerd pid"*"answers at $DOCKER_HOST"* ]] && private_engine=1
if [[ "${STAND_INS:-$private_engine}" == 1 ]]; then
  printf '\n==> stand-ins for the upstream images (built once, then skipped)\n'
  tests/compose/stand-ins/build.sh
fi
printf '\n==> docker compose up --build --wait (project %s, API on :%s)\n' "$COMPOSE_PROJECT_NAME" "$GATEWAY_PORT"
started=$SECONDS
scripts/compose.sh up
printf 'up in %ss\n' "$((SECONDS - started))"

printf '\n==> the e2e suite and the compose tests against it\n'
BASE_URL="http://127.0.0.1:$GATEWAY_PORT" uv run --frozen pytest -p no:cacheprovider tests/e2e tests/compose
