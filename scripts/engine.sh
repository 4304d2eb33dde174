#!/usr/bin/env bash
# A Docker engine for the compose tests: reuse one that answers, or start a PRIVATE one.
#
#   scripts/engine.sh start    reuse an answering engine, or start a private dockerd; prints `export DOCKER_HOST=...`
#   scripts/engine.sh stop     stop the private engine this script started (and its containerd and shims)
#   scripts/engine.sh status   say which engine answers, and whether the private one runs
#   scripts/engine.sh env      print the export lines for eval: eval "$(scripts/engine.sh env)"
#
# The private engine is Debian's docker.io (installed with apt-get when dockerd is missing), started with
# --iptables=false --ip-masq=false --ip-forward=false: containers cannot reach anything outside this machine
# (the default bridge, which `sam local` needs, gets no NAT and no forwarding), and nothing this
# script does changes the host's firewall or network. Builds that need a package registry use the host network
# instead (`docker build --network host`, compose `build: network: host`).
# The install leaves the package's system units masked, so no system engine ever starts from it (at boot
# it would write iptables rules and forward IPv4, and `start` would reuse it). An engine that answers is
# reused: one the caller runs (DOCKER_HOST, Docker Desktop, a CI runner's) is theirs, and reusing it changes
# nothing on the host.
# Everything lives under $TOOLS_CACHE/docker: data-root, exec-root, socket, pidfile, log.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"   # TOOLS_CACHE

ENGINE_DIR="$TOOLS_CACHE/docker"
DATA_ROOT="$ENGINE_DIR/data"
PIDFILE="$ENGINE_DIR/docker.pid"
LOGFILE="$ENGINE_DIR/dockerd.log"
STATEFILE="$ENGINE_DIR/engine.env"        # the socket and exec-root of the private engine that was started
CONFIG_FILE="$ENGINE_DIR/daemon.json"     # empty config, so a host /etc/docker/daemon.json never applies
START_TIMEOUT="${ENGINE_START_TIMEOUT:-60}"
STOP_TIMEOUT="${ENGINE_STOP_TIMEOUT:-30}"

# Unix socket paths must stay below 108 bytes (sun_path). The engine's socket and containerd's socket
# (<exec-root>/containerd/containerd.sock) live here; with a long $HOME fall back to a short directory in /run.
EXEC_ROOT="$ENGINE_DIR/exec"
SOCK="$ENGINE_DIR/docker.sock"
if (( ${#EXEC_ROOT} + 40 > 107 || ${#SOCK} > 107 )); then
  EXEC_ROOT="/run/fastapi-lambda-docker-$(id -u)/exec"
  SOCK="/run/fastapi-lambda-docker-$(id -u)/docker.sock"
fi

now_ms() { date +%s%3N; }
secs_since() { local d=$(( $(now_ms) - $1 )); printf '%d.%01d' $(( d / 1000 )) $(( d % 1000 / 100 )); }
say() { printf 'engine: %s\n' "$*" >&2; }
die() { printf '\nengine: error: %s\n' "$*" >&2; exit 1; }

# The recorded state of a private engine started earlier (its socket may differ from the default above).
load_state() {
  if [[ -f "$STATEFILE" ]]; then
    # shellcheck disable=SC1090
    source "$STATEFILE"
  fi
}

answers() {  # answers DOCKER_HOST-value: does an engine reply there?
  DOCKER_HOST="$1" timeout 10 docker info --format '{{.ServerVersion}}' >/dev/null 2>&1
}

private_pid() {  # the pid of the private dockerd, if it still runs (checked against its command line)
  [[ -s "$PIDFILE" ]] || return 1
  local pid; pid="$(<"$PIDFILE")"
  [[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--pidfile $PIDFILE" || return 1
  echo "$pid"
}

installed_package() {  # installed_package NAME: does dpkg have it installed?
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

# The units that would run a system engine: docker.io's, and containerd's (a private dockerd adopts a
# system containerd it finds at /run/containerd instead of starting its own).
SYSTEM_UNITS=(docker.service docker.socket containerd.service)

# Debian's packages enable their units at boot. Disabled (no boot-time links) and masked (nothing starts them:
# not a boot, not socket activation, not a package upgrade's scripts); `systemctl unmask` gives them back.
keep_system_units_off() {
  command -v systemctl >/dev/null 2>&1 || return 0   # no systemd: nothing starts them at boot
  { systemctl disable --quiet "$@" && systemctl mask --quiet "$@"; } >&2 \
    || die "could not disable and mask $* (see above): run systemctl disable $* && systemctl mask $*"
  say "masked $* (nothing starts them, boot included; systemctl unmask $* undoes it)"
}

# A machine where docker.io was installed before the units were masked here would start a system engine at
# its next boot (and `start` would reuse it): named, with the fix, never changed behind the owner's back.
warn_enabled_system_units() {
  command -v systemctl >/dev/null 2>&1 || return 0
  local unit enabled=()
  for unit in "${SYSTEM_UNITS[@]}"; do
    [[ "$(systemctl is-enabled "$unit" 2>/dev/null)" == enabled ]] && enabled+=("$unit")
  done
  (( ${#enabled[@]} == 0 )) || say "warning: ${enabled[*]} enabled: the next boot starts a system engine" \
    "(iptables rules, IPv4 forwarding) that \`start\` would reuse. Unless you want one: systemctl disable" \
    "${enabled[*]} && systemctl mask ${enabled[*]}"
}

need_docker_client() {
  command -v docker >/dev/null 2>&1 && return 0
  die "the docker client is not on PATH. Install it (apt-get install -y docker.io gives client and engine)."
}

print_env() {  # the export lines for eval
  printf 'export DOCKER_HOST=%q\n' "$1"
  # The compose plugin (scripts/compose-plugin.sh) is found through DOCKER_CONFIG/cli-plugins.
  if [[ -x "$ENGINE_DIR/cli-plugins/docker-compose" ]]; then
    printf 'export DOCKER_CONFIG=%q\n' "$ENGINE_DIR"
  fi
}

install_dockerd() {
  [[ "$(id -u)" == 0 ]] || die "dockerd is not installed, and installing it needs root: apt-get install -y docker.io"
  command -v apt-get >/dev/null 2>&1 || die "dockerd is not installed and this is not a Debian/Ubuntu system (no apt-get). Install Docker and set DOCKER_HOST."
  say "dockerd is not installed: installing Debian's docker.io (apt-get update, then apt-get install -y docker.io)"
  # The package must not start a system-wide engine (it would manage iptables): block service starts while
  # installing unless a policy already does.
  local policy=/usr/sbin/policy-rc.d created_policy=""
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; created_policy=1
  fi
  # ... nor one at the next boot: the units this install adds are masked (a containerd installed before is
  # the owner's, left as it is).
  local units=(docker.service docker.socket)
  installed_package containerd || units+=(containerd.service)
  local rc=0
  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker.io; } >&2 || rc=$?
  [[ -n "$created_policy" ]] && rm -f "$policy"
  (( rc == 0 )) || die "apt-get could not install docker.io (exit $rc; see the apt output above). Install Docker yourself and set DOCKER_HOST."
  keep_system_units_off "${units[@]}"
  command -v dockerd >/dev/null 2>&1 || die "docker.io was installed but dockerd is still not on PATH"
  say "installed: $(dockerd --version)"
}

cmd_start() {
  need_docker_client
  load_state
  # 1. An engine the caller already points at, or the system one, or the private one from an earlier start.
  local candidate
  for candidate in "${DOCKER_HOST:-}" "unix://$SOCK" "unix:///var/run/docker.sock"; do
    [[ -n "$candidate" ]] || continue
    if answers "$candidate"; then
      say "reusing the engine that already answers at $candidate ($(DOCKER_HOST="$candidate" docker info --format 'server {{.ServerVersion}}, storage {{.Driver}}' 2>/dev/null))"
      print_env "$candidate"
      return 0
    fi
  done

  # 2. Start a private one.
  [[ "$(uname -s)" == Linux ]] || die "no Docker engine answers, and a private engine can only be started on Linux. Start Docker (Desktop, colima, ...) and set DOCKER_HOST."
  [[ "$(id -u)" == 0 ]] || die "no Docker engine answers. A private engine needs root; start Docker yourself and set DOCKER_HOST."
  if pid="$(private_pid)"; then
    die "the private dockerd (pid $pid) runs but does not answer at unix://$SOCK; see $LOGFILE, then: $0 stop"
  fi
  if command -v dockerd >/dev/null 2>&1; then warn_enabled_system_units; else install_dockerd; fi

  # Without forwarding, packets from containers stop at this host. dockerd would switch it on (--ip-forward
  # defaults to true, even with --iptables=false); it is told not to, and a host that forwards anyway is named.
  if [[ "$(cat /proc/sys/net/ipv4/ip_forward 2>/dev/null)" == 1 ]]; then
    say "warning: this host forwards IPv4 (net.ipv4.ip_forward=1): packets from containers to outside addresses" \
        "can leave it (without NAT, so no replies come back). Compose networks with 'internal: true' prevent that."
  fi
  mkdir -p "$DATA_ROOT" "$EXEC_ROOT" "$(dirname "$SOCK")"
  [[ -s "$CONFIG_FILE" ]] || echo '{}' >"$CONFIG_FILE"
  rm -f "$SOCK"
  printf 'SOCK=%q\nEXEC_ROOT=%q\n' "$SOCK" "$EXEC_ROOT" >"$STATEFILE"
  say "starting a private dockerd ($(dockerd --version | sed 's/,.*//')): socket $SOCK, data $DATA_ROOT, log $LOGFILE"
  local t0=$SECONDS t0ms; t0ms="$(now_ms)"
  # setsid: its own session, so the caller's Ctrl-C or job control never reaches it; it ends with `stop`.
  setsid dockerd \
    --config-file "$CONFIG_FILE" \
    --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false \
    --storage-driver overlay2 \
    --data-root "$DATA_ROOT" --exec-root "$EXEC_ROOT" \
    -H "unix://$SOCK" --pidfile "$PIDFILE" \
    </dev/null >"$LOGFILE" 2>&1 &
  local launched=$!

  until answers "unix://$SOCK"; do
    if ! kill -0 "$launched" 2>/dev/null; then
      printf '\n--- last lines of %s ---\n' "$LOGFILE" >&2; tail -n 25 "$LOGFILE" >&2
      die "dockerd exited during start-up (see above)."
    fi
    if (( SECONDS - t0 >= START_TIMEOUT )); then
      printf '\n--- last lines of %s ---\n' "$LOGFILE" >&2; tail -n 25 "$LOGFILE" >&2
      cmd_stop >/dev/null 2>&1 || true
      die "dockerd did not answer within ${START_TIMEOUT}s (stopped it again; see above)."
    fi
    sleep 0.2
  done
  say "ready after $(secs_since "$t0ms")s: $(DOCKER_HOST="unix://$SOCK" docker info --format 'server {{.ServerVersion}}, storage {{.Driver}}, cgroup {{.CgroupVersion}}' 2>/dev/null)"
  print_env "unix://$SOCK"
}

# Processes that belong to the private engine even after dockerd is gone: its containerd and the shims,
# recognised by our exec-root in their command lines (shims are re-parented to init, so not dockerd's children).
leftover_pids() {
  local p cmd
  for p in /proc/[0-9]*; do
    cmd="$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)" || continue
    [[ "$cmd" == *"$EXEC_ROOT"* ]] || continue
    case "$cmd" in *containerd*|*dockerd*|*docker-proxy*) echo "${p#/proc/}" ;; esac
  done
}

cmd_stop() {
  load_state
  local pid
  if ! pid="$(private_pid)"; then
    say "no private dockerd runs (pidfile $PIDFILE); nothing to stop"
  else
    say "stopping the private dockerd (pid $pid; it stops its containers and containerd)"
    kill -TERM "$pid"
    local t0=$SECONDS t0ms; t0ms="$(now_ms)"
    while kill -0 "$pid" 2>/dev/null; do
      if (( SECONDS - t0 >= STOP_TIMEOUT )); then
        say "dockerd still runs after ${STOP_TIMEOUT}s: killing it"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
        break
      fi
      sleep 0.2
    done
    say "dockerd exited after $(secs_since "$t0ms")s"
  fi
  # containerd and shims should be gone with dockerd; end any that are not (our exec-root only).
  local left
  left="$(leftover_pids | tr '\n' ' ')"
  if [[ -n "${left// /}" ]]; then
    say "ending leftover engine processes: $left"
    # shellcheck disable=SC2086
    kill -TERM $left 2>/dev/null || true
    sleep 2
    left="$(leftover_pids | tr '\n' ' ')"
    # shellcheck disable=SC2086
    [[ -z "${left// /}" ]] || kill -KILL $left 2>/dev/null || true
  fi
  # Mounts left by a killed engine (overlay layers, network namespaces) under our directories only.
  local m
  while read -r m; do
    [[ -n "$m" ]] && umount -l "$m" 2>/dev/null || true
  done < <(awk -v a="$DATA_ROOT/" -v b="$EXEC_ROOT/" 'index($2, a) == 1 || index($2, b) == 1 { print $2 }' /proc/mounts | sort -r)
  rm -f "$PIDFILE" "$SOCK"
}

cmd_status() {
  need_docker_client
  load_state
  local pid rc=1
  if [[ -n "${DOCKER_HOST:-}" ]] && answers "$DOCKER_HOST"; then
    echo "DOCKER_HOST=$DOCKER_HOST answers ($(docker version --format 'server {{.Server.Version}}, API {{.Server.APIVersion}}' 2>/dev/null))"
    rc=0
  fi
  if pid="$(private_pid)"; then
    if answers "unix://$SOCK"; then
      echo "private engine: dockerd pid $pid answers at unix://$SOCK"; rc=0
    else
      echo "private engine: dockerd pid $pid runs but does not answer at unix://$SOCK (see $LOGFILE)"
    fi
  else
    echo "private engine: not running"
  fi
  if [[ -z "${DOCKER_HOST:-}" ]] && answers "unix:///var/run/docker.sock"; then
    echo "system engine answers at unix:///var/run/docker.sock"; rc=0
  fi
  return $rc
}

cmd_env() {
  load_state
  if [[ -n "${DOCKER_HOST:-}" ]] && answers "$DOCKER_HOST"; then print_env "$DOCKER_HOST"; return 0; fi
  if answers "unix://$SOCK"; then print_env "unix://$SOCK"; return 0; fi
  if answers "unix:///var/run/docker.sock"; then print_env "unix:///var/run/docker.sock"; return 0; fi
  die "no Docker engine answers; start one with: eval \"\$($0 start)\""
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
