#!/usr/bin/env bash
# Security checks that are not about the infrastructure code, each with a pinned tool version:
#
#   scripts/check-security.sh                 all checks
#   scripts/check-security.sh secrets [REPO]  the secret scan only (of REPO, default this project)
#   scripts/check-security.sh audit           the vulnerability audit of the locked dependencies only
#
# The rest of the static security checks live where their code does: ruff's S rules (bandit's checks) in
# `make lint` (pyproject.toml), checkov and zizmor in scripts/check-iac.sh.
#
# Secrets: gitleaks scans the files a commit would hold (tracked + new, not ignored) and the git history
# (a key deleted from the tree is still published). A finding is fixed (rotate the secret, remove it), or,
# when it is no secret, allow-listed with its reason: a `gitleaks:allow` comment on its line, or its
# fingerprint in .gitleaksignore under a `#` line that says why. Secrets are redacted from the output.
#
# Vulnerabilities: pip-audit reads PyPI's per-release JSON API. Where that does not answer (a mirror that
# serves only the index, no internet) the audit is skipped, named as such in the summary, never passed;
# REQUIRE_VULNERABILITY_AUDIT=1 (CI) makes the skip a failure. Once the service answers, --strict fails on
# any package it could not audit, so a partial answer cannot pass either.
set -euo pipefail

# --- pinned tool versions ---------------------------------------------------------------------------
GITLEAKS_VERSION=8.30.1         # built from the Go module proxy, like actionlint
PIP_AUDIT_VERSION=2.10.1

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$PROJECT_ROOT"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

gitleaks_bin() { go_tool gitleaks github.com/zricethezav/gitleaks/v8 "$GITLEAKS_VERSION"; }

secret_scan() {
    local repo="$1" bin tree="$WORK/tree" status=0 file
    local -a listed=() files=()
    bin="$(gitleaks_bin)" || return 1
    local scan=("$bin" --no-banner --no-color --verbose --redact --exit-code 1 --gitleaks-ignore-path "$repo")
    # The tree: a copy of exactly the files a commit would hold (never .venv, node_modules, .local ...).
    mapfile -d '' listed < <(git -C "$repo" ls-files -z --cached --others --exclude-standard)
    for file in "${listed[@]}"; do
        [[ -f "$repo/$file" ]] && files+=("$file")   # a tracked file deleted from the tree is not there
    done
    mkdir -p "$tree"
    if ((${#files[@]})); then
        (cd "$repo" && cp --parents -t "$tree" -- "${files[@]}") || return 1
    fi
    echo "the tree: ${#files[@]} files"
    (cd "$tree" && "${scan[@]}" dir .) || status=1
    if git -C "$repo" rev-parse --verify --quiet HEAD >/dev/null; then
        echo "the history: $(git -C "$repo" rev-list --count HEAD) commits"
        "${scan[@]}" git "$repo" || status=1
    fi
    return "$status"
}

# What the Lambda ships (backend/requirements.txt, kept equal to uv.lock by `make lint`) and the whole lock:
# every workspace package and the dev tools, which run on developers' machines and in CI.
DEV_LOCK="$WORK/dev-lock.txt"
export_dev_lock() {
    uv export --frozen --all-packages --all-groups --no-emit-workspace --no-hashes --no-header --no-annotate \
        -o "$DEV_LOCK" >/dev/null
}

# pip-audit's default service: https://pypi.org/pypi/<name>/<version>/json. Asked for the first pinned
# requirement; prints why it is unreachable, or nothing.
vulnerability_service_unreachable() {
    local pin name version error
    pin="$(grep -m1 -E '^[A-Za-z0-9._-]+==' backend/requirements.txt)"
    name="${pin%%==*}"
    version="${pin#*==}"
    version="${version%% *}"
    error="$(curl --silent --show-error --fail --max-time 15 -o /dev/null "https://pypi.org/pypi/$name/$version/json" 2>&1)" \
        || echo "PyPI's vulnerability API does not answer here ($name $version: ${error#curl: })"
}

vulnerability_audit() {
    local unreachable
    unreachable="$(vulnerability_service_unreachable)"
    if [[ -n "$unreachable" ]]; then
        echo "skipped: $unreachable"
        if [[ "${REQUIRE_VULNERABILITY_AUDIT:-0}" == 1 ]]; then
            echo "REQUIRE_VULNERABILITY_AUDIT=1: an audit that cannot run is a failure" >&2
            return 1
        fi
        SKIP_REASON="$unreachable"
        return "$CHECK_SKIPPED"
    fi
    export_dev_lock
    local requirements status=0
    for requirements in backend/requirements.txt "$DEV_LOCK"; do
        echo "pip-audit $PIP_AUDIT_VERSION: ${requirements/#"$WORK"\//uv.lock export }"
        # --no-deps --disable-pip: both files pin the whole closure, nothing to resolve.
        uvx --quiet "pip-audit==$PIP_AUDIT_VERSION" --strict --progress-spinner off --disable-pip --no-deps \
            -r "$requirements" || status=1
    done
    return "$status"
}

what="${1:-all}"
case "$what" in
    all | audit) ;;
    secrets) [[ $# -le 2 ]] || { echo "usage: scripts/check-security.sh secrets [REPO]" >&2; exit 2; } ;;
    *) echo "usage: scripts/check-security.sh [all|secrets [REPO]|audit]" >&2; exit 2 ;;
esac
if [[ "$what" == all || "$what" == secrets ]]; then
    repo="$(cd "${2:-$PROJECT_ROOT}" && pwd)"
    run_check "gitleaks $GITLEAKS_VERSION (tree + history)" secret_scan "$repo"
fi
if [[ "$what" == all || "$what" == audit ]]; then
    run_check "pip-audit $PIP_AUDIT_VERSION (requirements + lock)" vulnerability_audit
fi
check_summary "Security checks"
