#!/usr/bin/env bash
# Builds the stand-in images that let the project's compose.yaml and Dockerfiles run where no container registry
# is reachable: each is made from Debian packages (mmdebstrap rootfs + docker import) plus a Dockerfile layer,
# and tagged with the UPSTREAM name, so `FROM`/`image:`/`COPY --from=` find it locally and never pull.
#
#   tests/compose/stand-ins/build.sh [NAME...]          build (or skip when up to date) all or some stand-ins
# What each stand-in must do is proven by using it: the compose stack and its tests (tests/compose) run on them.
#   tests/compose/stand-ins/build.sh list               the stand-ins and the tags they carry
#
# NAME: lambda-python, python, lambda-adapter, ministack, node. Needs an engine: eval "$(scripts/engine.sh start)".
# An image is skipped when every tag exists and carries the label org.devstack.stand-in.hash of its inputs
# (build context, build args, base image). Rootfs tarballs are cached in $TOOLS_CACHE/stand-ins/rootfs.
# Builds that install from PyPI use the host network (docker build --network host); containers never do.
# Environment: STAND_IN_HOST_CA=0 leaves this machine's extra CA certificates out of the images (see README).
# Single-quoted $... below is meant for the shell or Python inside the containers or mmdebstrap's hooks.
# shellcheck disable=SC2016
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# TOOLS_CACHE and the pinned versions (LWA_VERSION, RIE_VERSION, MINISTACK_VERSION, ...) come from the facts files.
# shellcheck source=scripts/lib.sh
source "$HERE/../../../scripts/lib.sh"
REPO_ROOT="$PROJECT_ROOT"
CACHE_DIR="$TOOLS_CACHE/stand-ins"
LABEL=org.devstack.stand-in.hash
SUITE=trixie          # Debian 13: python3.13 and nodejs 20
ROOTFS_RECIPE=1       # bump when the mmdebstrap command below changes meaning

ALL=(lambda-python python lambda-adapter ministack node)

now_ms() { date +%s%3N; }
secs_since() { local d=$(( $(now_ms) - $1 )); printf '%d.%01d' $(( d / 1000 )) $(( d % 1000 / 100 )); }
say() { printf '\n==> %s\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
die() { printf '\nstand-ins: error: %s\n' "$*" >&2; exit 1; }

tags_of() {
  case "$1" in
    lambda-python) echo "public.ecr.aws/lambda/python:3.13" ;;
    python) echo "python:3.13-slim python:3.13-slim-trixie" ;;
    lambda-adapter) echo "public.ecr.aws/awsguru/aws-lambda-adapter:$LWA_VERSION" ;;
    ministack-light) echo "ministackorg/ministack:$MINISTACK_VERSION" ;;
    ministack-full) echo "ministackorg/ministack:$MINISTACK_VERSION-full" ;;
    node) echo "node:20-trixie-slim node:20-slim" ;;
  esac
}

need_engine() {
  command -v docker >/dev/null 2>&1 || die "no docker client on PATH."
  docker info --format '{{.ServerVersion}}' >/dev/null 2>&1 \
    || die "no Docker engine answers${DOCKER_HOST:+ at $DOCKER_HOST}. Start one: eval \"\$(scripts/engine.sh start)\""
}

image_label() {  # image_label TAG: its stand-in hash label, empty when the image is absent
  docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true
}
image_mb() { docker image inspect -f '{{.Size}}' "$1" | awk '{ printf "%d", $1 / 1000 / 1000 + 0.5 }'; }

# ---------------------------------------------------------------------------------------------------------------
# Base images: Debian minbase root filesystems made by mmdebstrap from the machine's Debian mirror.

ensure_mmdebstrap() {
  command -v mmdebstrap >/dev/null 2>&1 && return 0
  [[ "$(id -u)" == 0 ]] || die "mmdebstrap is not installed and installing it needs root: apt-get install -y mmdebstrap"
  command -v apt-get >/dev/null 2>&1 || die "mmdebstrap is missing and there is no apt-get to install it."
  say "mmdebstrap is not installed: apt-get update && apt-get install -y mmdebstrap"
  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mmdebstrap; } >&2 \
    || die "apt-get could not install mmdebstrap (see above)."
}

# The Debian mirror this machine is configured with (deb822 sources), else deb.debian.org.
debian_mirrors() {
  local uris
  uris="$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
  MIRROR="$(grep -v -- '-security' <<<"$uris" | grep -m1 '/debian/\?$' || true)"
  SECURITY_MIRROR="$(grep -m1 -- '/debian-security/\?$' <<<"$uris" || true)"
  MIRROR="${MIRROR:-http://deb.debian.org/debian}"
  SECURITY_MIRROR="${SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
}

# Extra CA certificates this machine trusts (e.g. a TLS-intercepting proxy in front of the package registries).
# They go into the base images so pip/npm inside `docker build` can reach the registries here as on the host.
host_cas() {
  [[ "${STAND_IN_HOST_CA:-1}" == 0 ]] && return 0
  find /usr/local/share/ca-certificates -type f -name '*.crt' 2>/dev/null | sort
}

build_base() {  # build_base NAME PACKAGES  -> sets BASE_IMAGE
  local name="$1" packages="$2" key tar image t0
  debian_mirrors
  local cas; cas="$(host_cas)"
  key="$(
    printf '%s\n' "$ROOTFS_RECIPE" "$SUITE" minbase "$packages" "$MIRROR" "$SECURITY_MIRROR"
    # shellcheck disable=SC2086  # one path per word
    [[ -z "$cas" ]] || sha256sum $cas | cut -d' ' -f1
  )"
  key="$(sha256sum <<<"$key" | cut -c1-16)"
  tar="$CACHE_DIR/rootfs/$SUITE-$name-$key.tar"
  image="devstack/stand-in-base:$SUITE-$name"
  BASE_IMAGE="$image"
  local tb; tb="$(now_ms)"
  if [[ "$(image_label "$image")" == "$key" ]]; then
    note "base $image is up to date (rootfs $key)"
    record "base:$name" cached "$tb" "$image"
    return 0
  fi
  local made=imported
  mkdir -p "$CACHE_DIR/rootfs"
  if [[ -s "$tar" ]]; then
    note "rootfs cached: $tar"
  else
    ensure_mmdebstrap
    say "rootfs $SUITE-$name: mmdebstrap --variant=minbase --include=$packages (mirror $MIRROR)"
    local hooks=()
    if [[ -n "$cas" ]]; then
      note "adding $(wc -l <<<"$cas") CA certificate(s) this machine trusts: $(tr '\n' ' ' <<<"$cas")"
      hooks+=(--customize-hook="copy-in $(tr '\n' ' ' <<<"$cas")/usr/local/share/ca-certificates/"
              --customize-hook='chroot "$1" update-ca-certificates')
    fi
    t0="$(now_ms)"
    rm -f "$tar".tmp.*
    # Like Debian's -slim images: no man pages, docs (but copyrights), info or translations.
    mmdebstrap --variant=minbase --components=main --include="$packages" \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      "${hooks[@]}" \
      "$SUITE" "$tar.tmp.tar" \
      "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" "deb $SECURITY_MIRROR $SUITE-security main" \
      || die "mmdebstrap failed for $SUITE-$name (see above)."
    mv "$tar.tmp.tar" "$tar"; made=built
    note "rootfs $SUITE-$name made in $(secs_since "$t0")s ($(du -m "$tar" | cut -f1) MB)"
    # Older rootfs tarballs of this name are stale now.
    find "$CACHE_DIR/rootfs" -name "$SUITE-$name-*.tar" ! -name "$(basename "$tar")" -delete
  fi
  t0="$(now_ms)"
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --change "LABEL $LABEL=$key" \
    --message "Debian $SUITE minbase + $packages (mmdebstrap, stand-in base)" \
    "$tar" "$image" >/dev/null
  note "imported $image in $(secs_since "$t0")s"
  record "base:$name" "$made" "$tb" "$image"
}

# ---------------------------------------------------------------------------------------------------------------
# Inputs that are built, not committed: the RIE and the Web Adapter binaries.

rie_binary() {
  local dir="$TOOLS_CACHE/aws-lambda-rie-${RIE_VERSION##*-}"
  if [[ ! -x "$dir/aws-lambda-rie" ]]; then
    command -v go >/dev/null 2>&1 || die "go is needed to build the Runtime Interface Emulator."
    say "building aws-lambda-rie $RIE_VERSION from the Go module proxy"
    GOBIN="$dir" CGO_ENABLED=0 GOFLAGS=-mod=mod \
      go install "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$RIE_VERSION" \
      || die "go install of aws-lambda-rie failed."
  fi
  echo "$dir/aws-lambda-rie"
}

# Upstream's image holds a static musl binary. The musl target is not installable offline, so build a static
# glibc one (crt-static); it runs FROM scratch and when copied into any image, like upstream's.
adapter_binary() {
  local static="$TOOLS_CACHE/lambda-adapter-$LWA_VERSION-static/bin/lambda-adapter"
  local dynamic="$TOOLS_CACHE/lambda-adapter-$LWA_VERSION/bin/lambda-adapter"
  if [[ ! -x "$static" ]] && command -v cargo >/dev/null 2>&1; then
    say "building lambda_web_adapter $LWA_VERSION from crates.io, statically linked (about 1-5 minutes)"
    local t0; t0="$(now_ms)"
    if RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET_DIR="$CACHE_DIR/cargo-target" \
        cargo install --locked lambda_web_adapter --version "$LWA_VERSION" --target x86_64-unknown-linux-gnu \
          --root "$TOOLS_CACHE/lambda-adapter-$LWA_VERSION-static" >&2; then
      note "built in $(secs_since "$t0")s"
    else
      note "the static build failed; falling back to a dynamically linked binary"
    fi
    rm -rf "$CACHE_DIR/cargo-target"
  fi
  if [[ -x "$static" ]]; then echo "$static"; return 0; fi
  if [[ ! -x "$dynamic" ]]; then
    command -v cargo >/dev/null 2>&1 || die "cargo is needed to build lambda_web_adapter $LWA_VERSION."
    say "building lambda_web_adapter $LWA_VERSION from crates.io (several minutes)"
    cargo install --locked lambda_web_adapter --version "$LWA_VERSION" --root "$TOOLS_CACHE/lambda-adapter-$LWA_VERSION" >&2 \
      || die "cargo install lambda_web_adapter failed."
  fi
  note "warning: $dynamic is dynamically linked (glibc): it runs in glibc images only, not FROM scratch or alpine"
  echo "$dynamic"
}

# boto3 and its dependencies at the versions uv.lock pins (the project's tests run against those).
runtime_sdk_pins() {
  local lock="$REPO_ROOT/uv.lock"
  [[ -f "$lock" ]] || return 0
  awk '
    /^\[\[package\]\]/ { name = "" }
    /^name = /         { gsub(/"/, "", $3); name = $3 }
    /^version = / && name ~ /^(boto3|botocore|s3transfer|jmespath|python-dateutil|urllib3|six)$/ {
      gsub(/"/, "", $3); printf "%s==%s ", name, $3; name = "" }
  ' "$lock" | sed 's/ $//'
}

# ---------------------------------------------------------------------------------------------------------------
# One stand-in image: build context = the committed directory + generated inputs; skipped when the hash matches.

RESULTS=()
record() {  # record KEY STATUS START_MS IMAGE: one line of the summary (once per key)
  local r; for r in "${RESULTS[@]}"; do [[ "$r" == "$1 "* ]] && return 0; done
  RESULTS+=("$(printf '%-16s %-8s %6ss %6s MB  %s' "$1" "$2" "$(secs_since "$3")" "$(image_mb "$4")" "$4")")
}
build_image() {  # build_image KEY DIR NETWORK(host|none) EXTRA_FILES... -- BUILD_ARGS...
  local key="$1" dir="$2" network="$3"; shift 3
  local files=() args=()
  while (( $# )) && [[ "$1" != -- ]]; do files+=("$1"); shift; done
  [[ "${1:-}" == -- ]] && shift
  args=("$@")
  local tags; read -r -a tags <<<"$(tags_of "$key")"
  # A tag present without our label is the real upstream image (pulled where a registry is reachable): keep it.
  local upstream=1 tag
  for tag in "${tags[@]}"; do
    { docker image inspect "$tag" >/dev/null 2>&1 && [[ -z "$(image_label "$tag")" ]]; } || upstream=0
  done
  if (( upstream )); then
    note "$key: ${tags[*]} is the upstream image, kept"
    record "$key" upstream "$(now_ms)" "${tags[0]}"
    return 0
  fi
  local ctx; ctx="$(mktemp -d "${TMPDIR:-/tmp}/stand-in-ctx.XXXXXX")"
  cp -a "$HERE/$dir/." "$ctx/"
  local f; for f in "${files[@]}"; do cp -a "$f" "$ctx/"; done
  local base_id="" from
  for from in "${args[@]}"; do
    [[ "$from" == BASE_IMAGE=* ]] && base_id="$(docker image inspect -f '{{.Id}}' "${from#BASE_IMAGE=}")"
  done
  local hash
  hash="$(
    cd "$ctx" && find . -type f -print0 | sort -z | xargs -0 sha256sum
    cd "$ctx" && find . -type f -printf '%m %p\n' | sort
    printf '%s\n' "${args[@]}" "$base_id" "${tags[@]}"
  )"
  hash="$(sha256sum <<<"$hash" | cut -c1-16)"
  local status t0; t0="$(now_ms)"
  if [[ "$(image_label "${tags[0]}")" == "$hash" ]]; then
    status=cached
    for f in "${tags[@]:1}"; do
      [[ "$(image_label "$f")" == "$hash" ]] || docker tag "${tags[0]}" "$f"
    done
    note "$key: ${tags[*]} up to date ($hash), skipped"
  else
    status=built
    say "$key: docker build -> ${tags[*]}${network:+ (network $network)}"
    local cmd=(docker build --label "$LABEL=$hash" --network "$network")
    for f in "${tags[@]}"; do cmd+=(-t "$f"); done
    for f in "${args[@]}"; do cmd+=(--build-arg "$f"); done
    # Classic builder output: one line per step and the RUN output, which is the progress.
    DOCKER_BUILDKIT=0 "${cmd[@]}" "$ctx" >&2 || { rm -rf "$ctx"; die "docker build of $key failed (see above)."; }
  fi
  rm -rf "$ctx"
  record "$key" "$status" "$t0" "${tags[0]}"
  [[ ${#tags[@]} == 1 ]] || RESULTS[-1]+=" ${tags[*]:1}"
}

build_one() {
  local t0
  case "$1" in
    lambda-python)
      build_base python "python3.13,python3-pip,ca-certificates"
      local rie pins; rie="$(rie_binary)"; pins="$(runtime_sdk_pins)"
      note "runtime SDK pins (uv.lock): ${pins:-Dockerfile defaults}"
      [[ -n "$pins" ]] || die "uv.lock pins no boto3: the runtime SDK stand-in needs its version."
      build_image lambda-python lambda-python host "$rie" -- "BASE_IMAGE=$BASE_IMAGE" "RUNTIME_SDK=$pins"
      ;;
    python)
      build_base python "python3.13,python3-pip,ca-certificates"
      build_image python python none -- "BASE_IMAGE=$BASE_IMAGE"
      ;;
    lambda-adapter)
      local bin; bin="$(adapter_binary)"
      local ctxbin; ctxbin="$(mktemp -d)"; cp "$bin" "$ctxbin/lambda-adapter"
      build_image lambda-adapter lambda-adapter none "$ctxbin/lambda-adapter" --
      rm -rf "$ctxbin"
      ;;
    ministack)
      build_base python "python3.13,python3-pip,ca-certificates"
      local edition
      for edition in light full; do
        build_image "ministack-$edition" ministack host -- "BASE_IMAGE=$BASE_IMAGE" "EDITION=$edition" \
          "MINISTACK_VERSION=$MINISTACK_VERSION" "SAM_TRANSLATOR_VERSION=$AWS_SAM_TRANSLATOR_VERSION"
      done
      ;;
    node)
      build_base node "nodejs,npm,ca-certificates"
      local v
      v="$(docker run --rm --network none --entrypoint dpkg-query "$BASE_IMAGE" -W -f '${Version}' nodejs)"
      v="${v#*:}"; v="${v%%[+~-]*}"
      build_image node node none -- "BASE_IMAGE=$BASE_IMAGE" "NODE_VERSION=$v"
      ;;
    *) die "unknown stand-in '$1' (known: ${ALL[*]})" ;;
  esac
}

# ---------------------------------------------------------------------------------------------------------------
# ---------------------------------------------------------------------------------------------------------------

main() {
  case "${1:-}" in
    list) for k in lambda-python python lambda-adapter ministack-light ministack-full node; do printf '%-16s %s\n' "$k" "$(tags_of "$k")"; done; return 0 ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; return 0 ;;
  esac
  local names=("$@"); (( ${#names[@]} )) || names=("${ALL[@]}")
  need_engine
  local n t0; t0="$(now_ms)"
  for n in "${names[@]}"; do build_one "$n"; done
  say "stand-ins ready in $(secs_since "$t0")s"
  printf '    %s\n' "${RESULTS[@]}" >&2
}

main "$@"
