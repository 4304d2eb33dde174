#!/usr/bin/env bash
# The docker compose v2 CLI plugin, built from the Go module proxy (no GitHub release download here) and cached.
#
#   scripts/compose-plugin.sh          build it unless the cached binary already reports COMPOSE_VERSION;
#                                      then print the env lines: eval "$(scripts/compose-plugin.sh)"
#   scripts/compose-plugin.sh env      only print the env lines (fails when it is not built)
#
# The binary goes to $TOOLS_CACHE/docker/cli-plugins/docker-compose and the docker client finds it through
# DOCKER_CONFIG=$TOOLS_CACHE/docker (so ~/.docker is never written). Note: with DOCKER_CONFIG set, the client
# also reads (and `docker login` writes) $TOOLS_CACHE/docker/config.json instead of ~/.docker/config.json;
# credentials or proxy settings from ~/.docker do not apply to these tests, which is what they want.
# `go install ...@version` is refused for this module (its go.mod has exclude directives), hence download + build.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"   # TOOLS_CACHE, COMPOSE_VERSION

DOCKER_CONFIG_DIR="$TOOLS_CACHE/docker"
PLUGIN="$DOCKER_CONFIG_DIR/cli-plugins/docker-compose"

say() { printf 'compose-plugin: %s\n' "$*" >&2; }
die() { printf '\ncompose-plugin: error: %s\n' "$*" >&2; exit 1; }

print_env() { printf 'export DOCKER_CONFIG=%q\n' "$DOCKER_CONFIG_DIR"; }

cached_version() {  # the version the cached binary reports (empty when absent or broken)
  [[ -x "$PLUGIN" ]] || return 0
  "$PLUGIN" version --short 2>/dev/null | sed 's/^v//' || true
}

build() {
  command -v go >/dev/null 2>&1 || die "go is not installed (needed to build docker compose from the Go module proxy)."
  local json dir t0=$SECONDS
  say "downloading github.com/docker/compose/v2@$COMPOSE_VERSION from the Go module proxy"
  json="$(go mod download -json "github.com/docker/compose/v2@$COMPOSE_VERSION")" \
    || die "go mod download failed: $json"
  dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")"
  [[ -d "$dir" ]] || die "go mod download gave no module directory: $json"
  # The module cache is read-only and the build needs a writable tree (go.sum updates, generated files).
  work="$(mktemp -d "${TMPDIR:-/tmp}/compose-src.XXXXXX")"   # global: the EXIT trap removes it
  trap 'rm -rf "${work:-}"' EXIT
  cp -r "$dir/." "$work/"
  chmod -R u+w "$work"
  mkdir -p "$(dirname "$PLUGIN")"
  local npkg
  npkg="$(cd "$work" && go list -deps ./cmd 2>/dev/null | wc -l)" || npkg="?"
  say "building $COMPOSE_VERSION ($npkg packages; about 3.5 minutes on 2 cores, progress every 20 s)"
  # As the upstream Makefile does (version stamped into internal.Version, DWARF stripped), statically linked.
  if ! (
    cd "$work"
    CGO_ENABLED=0 go build -v -trimpath \
      -ldflags "-w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" \
      -o "$PLUGIN.tmp" ./cmd 2>&1
  ) | {
    n=0 last=$SECONDS
    while IFS= read -r line; do
      case "$line" in
        *[[:space:]]*) printf '%s\n' "$line" >&2 ;;  # not a bare package path: a compiler message, show it
        *) n=$((n + 1)) ;;
      esac
      if (( SECONDS - last >= 20 )); then
        say "  ... $n/$npkg packages compiled ($(( SECONDS - t0 ))s)"; last=$SECONDS
      fi
    done
  }; then
    die "go build of docker compose $COMPOSE_VERSION failed (see above)."
  fi
  [[ -x "$PLUGIN.tmp" ]] || die "go build of docker compose $COMPOSE_VERSION produced no binary."
  mv -f "$PLUGIN.tmp" "$PLUGIN"
  say "built $PLUGIN in $(( SECONDS - t0 ))s ($(du -h "$PLUGIN" | cut -f1))"
}

case "${1:-build}" in
  build)
    have="$(cached_version)"
    if [[ "$have" == "${COMPOSE_VERSION#v}" ]]; then
      say "cached: $PLUGIN reports $have (skipping the build)"
    else
      [[ -n "$have" ]] && say "cached binary reports '$have', want ${COMPOSE_VERSION#v}: rebuilding"
      build
    fi
    # Check what the tests will use: the docker client on PATH with this DOCKER_CONFIG.
    if command -v docker >/dev/null 2>&1; then
      out="$(DOCKER_CONFIG="$DOCKER_CONFIG_DIR" docker compose version 2>&1)" \
        || die "docker compose version failed with DOCKER_CONFIG=$DOCKER_CONFIG_DIR: $out"
      say "docker compose works: $out"
    else
      say "no docker client on PATH; the plugin also runs on its own: $PLUGIN version"
    fi
    print_env
    ;;
  env)
    [[ -n "$(cached_version)" ]] || die "docker compose is not built yet: run $0"
    print_env
    ;;
  *) echo "usage: $0 [build|env]" >&2; exit 2 ;;
esac
