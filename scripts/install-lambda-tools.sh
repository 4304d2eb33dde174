#!/usr/bin/env bash
# Installs the two binaries the local Lambda chain needs, at the versions pinned in devstack/devstack.env:
#   - the AWS Lambda Runtime Interface Emulator (Go, `go install`)
#   - the AWS Lambda Web Adapter (Rust crate lambda_web_adapter, `cargo install --locked`)
# where devstack says they go (devstack.tools.LambdaTools.pinned: one directory per version in the per-user
# tool cache, so several checkouts share one build and a version bump never reuses a stale binary).
#
# Usage: scripts/install-lambda-tools.sh     install what is missing, print the paths
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"   # LWA_VERSION, LWA_LAYER_VERSION, RIE_VERSION, devstack_ask

say() { printf '[lambda-tools] %s\n' "$*" >&2; }
die() { printf '[lambda-tools] ERROR: %s\n' "$*" >&2; exit 1; }

{ read -r rie_bin; read -r lwa_bin; } < <(devstack_ask lambda-tools) || true
[[ -n "${lwa_bin:-}" ]] || die "devstack did not say where the tools go (its error is above)"
rie_dir="$(dirname "$rie_bin")"                # go install's GOBIN
lwa_root="$(dirname "$(dirname "$lwa_bin")")"  # cargo install's --root (the binary goes to its bin/)
rie_module="github.com/aws/aws-lambda-runtime-interface-emulator"

rie_ok() {
    [[ -x "$rie_bin" ]] || return 1
    # Ask the binary which module version it was built from (go embeds build info).
    if command -v go >/dev/null 2>&1; then
        go version -m "$rie_bin" 2>/dev/null | grep -q "${rie_module}[[:space:]]*${RIE_VERSION}" || return 1
    fi
}

lwa_ok() {
    # NB: never run lambda-adapter to probe it: it has no --version flag and, outside Lambda, polls the
    # app's readiness URL forever. cargo's install record tells the installed version.
    [[ -x "$lwa_bin" ]] && grep -q "lambda_web_adapter $LWA_VERSION " "$lwa_root/.crates.toml" 2>/dev/null
}

print_paths() {
    echo "RIE=$rie_bin"
    echo "LAMBDA_ADAPTER=$lwa_bin"
}

[[ -z "${1:-}" ]] || die "unknown argument '$1' (it takes none)"

[[ "$(uname -s)" == Linux ]] || die "the Runtime Interface Emulator and the chain run on Linux only"

if rie_ok; then
    say "Runtime Interface Emulator $RIE_VERSION already installed"
else
    command -v go >/dev/null 2>&1 || die "go not found. Install Go >= 1.25 (https://go.dev/dl/, or apt-get install golang-go on a recent distribution) and re-run $0"
    say "building the Runtime Interface Emulator $RIE_VERSION with go — about 1 min on 2 cores"
    mkdir -p "$rie_dir"
    start=$SECONDS
    GOBIN="$rie_dir" GOFLAGS=-mod=mod CGO_ENABLED=0 go install "$rie_module/cmd/aws-lambda-rie@$RIE_VERSION" \
        || die "go install failed (needs the Go module proxy, or GOPROXY/GOFLAGS set for your network)"
    say "RIE built in $((SECONDS - start)) s"
fi

if lwa_ok; then
    say "Lambda Web Adapter $LWA_VERSION already installed"
else
    command -v cargo >/dev/null 2>&1 || die "cargo not found. Install Rust (https://rustup.rs: curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh) and re-run $0"
    say "building the Web Adapter $LWA_VERSION with cargo — first build takes ~4 min on 2 cores"
    start=$SECONDS
    cargo install --locked lambda_web_adapter --version "$LWA_VERSION" --root "$lwa_root" \
        || die "cargo install failed (needs crates.io, a C toolchain: apt-get install build-essential)"
    say "Web Adapter built in $((SECONDS - start)) s (deployed layer: LambdaAdapterLayerX86:$LWA_LAYER_VERSION)"
fi

print_paths
