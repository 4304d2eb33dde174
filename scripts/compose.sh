#!/usr/bin/env bash
# `make up`, `make down`, `make logs`: docker compose with the checks a plain `docker compose up` lacks.
#
#   scripts/compose.sh up [ARGS]      taken ports named first; `up --build --wait`; a part that never turns
#                                     healthy is named with its last log lines
#   scripts/compose.sh down [-v]      stop (-v also wipes the users, notes and files)
#   scripts/compose.sh logs [ARGS]    follow every part's logs
#
# Uses the engine DOCKER_HOST names, else the private one scripts/engine.sh started (`make engine`). On the
# private engine (no registry reachable) the upstream images are stand-ins built from Debian packages
# (tests/compose/stand-ins); STAND_INS=1 forces them, STAND_INS=0 lets compose pull the real ones.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$PROJECT_ROOT"

# The private engine and the compose plugin, when they are what this machine has.
if [[ -z "${DOCKER_HOST:-}" ]] && ! docker info >/dev/null 2>&1; then
  eval "$(scripts/engine.sh env 2>/dev/null)" || die "no Docker engine answers. Start one: make engine (Linux, root), or start Docker and set DOCKER_HOST."
fi
if ! docker compose version >/dev/null 2>&1; then
  eval "$(scripts/compose-plugin.sh env 2>/dev/null)" || die "the docker compose plugin is missing. Build it: scripts/compose-plugin.sh (or install Docker Compose v2)."
fi

# DEBUG=1 (make debug's switch): the debug override too, the function's app under debugpy (docs/debugging.md).
published=(AWS_EMULATOR_PORT FIREBASE_AUTH_PORT APP_PORT GATEWAY_PORT LAMBDA_API_PORT)
if [[ "${DEBUG:-0}" != 0 && -n "${DEBUG:-}" ]]; then
  export COMPOSE_FILE="compose.yaml:compose.debug.yaml"
  published=(DEBUG_PORT "${published[@]}")  # first: a second `make debug` is named by it
fi

# The ports compose publishes on 127.0.0.1, each with the variable that moves it.
require_free_ports() {
  local var port
  for var in "${published[@]}"; do
    port="${!var}"
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      die "port $port ($var) is already taken. Find the owner with \`ss -ltnp 'sport = :$port'\` (a running make dev?) and stop it, or move it: $var=<port> make up"
    fi
  done
}

# The parts that are not healthy (or exited with an error), with their last log lines.
explain_failure() {
  local service state health code
  printf '\nThe stack did not come up. Its parts:\n' >&2
  docker compose ps --all --format '  {{.Service}}: {{.Status}}' >&2 || true
  while IFS=$'\t' read -r service state health code; do
    if [[ "$state" == running && "$health" != unhealthy && "$health" != starting ]] || [[ "$state" == exited && "$code" == 0 ]]; then
      continue
    fi
    printf '\n--- %s (%s %s): its last log lines ---\n' "$service" "$state" "${health:-exit $code}" >&2
    docker compose logs --no-color --tail 30 "$service" >&2 || true
  done < <(docker compose ps --all --format $'{{.Service}}\t{{.State}}\t{{.Health}}\t{{.ExitCode}}')
}

case "${1:-}" in
  up)
    shift
    require_free_ports
    if [[ "${STAND_INS:-$(uses_private_engine && echo 1)}" == 1 ]]; then
      tests/compose/stand-ins/build.sh
    fi
    if ! docker compose up --build --wait "$@"; then
      explain_failure
      exit 1
    fi
    printf '\nThe API answers at http://127.0.0.1:%s (token: docker compose run --rm devstack token you@example.com)\n' "$GATEWAY_PORT"
    ;;
  down) shift; docker compose down "$@" ;;
  logs) shift; docker compose logs --follow "$@" ;;
  *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
