#!/usr/bin/env bash
# Build, deploy and verify one environment:  scripts/deploy.sh dev|staging|prod|local
#
#   1. sam build                      (skipped with SKIP_BUILD=1: deploy an existing .aws-sam/build, as CI does)
#   2. sam deploy --config-env ENV    (samconfig.toml; prod asks to confirm the change set unless CI=true)
#   3. API_URL from the stack outputs (or the API_URL you set, e.g. the local chain for ENV=local)
#   4. GET $API_URL/health with retries, then the smoke tests (uv run pytest tests/smoke)
#
# Any failure stops the script with a non-zero status and says which step failed.
# ENV=local deploys to the emulator (`devstack deploy`; AWS_ENDPOINT_URL, else localstack/localstack.env). The
# emulator cannot run the function behind its API, so for local the checks need API_URL pointing at the local
# chain (make dev).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$PROJECT_ROOT"

ENVIRONMENT="${1:-}"
case "$ENVIRONMENT" in
    dev | staging | prod | local) ;;
    *)
        echo "usage: scripts/deploy.sh dev|staging|prod|local   (got '${ENVIRONMENT}')" >&2
        exit 2
        ;;
esac

step="start"
on_failure() {
    local code=$?
    printf '\n✗ DEPLOY FAILED: environment=%s step="%s" (exit %s)\n' "$ENVIRONMENT" "$step" "$code" >&2
    exit "$code"
}
trap on_failure ERR
say() { printf '\n==> %s\n' "$*"; }

step="preflight"
command -v sam >/dev/null || { echo "sam is not installed (make install)" >&2; false; }
# No replace-me-* placeholder left in this environment's section (Firebase project id, the account id in
# role_arn, s3_bucket). devstack answers with the standard library only: this job installs nothing.
# (`|| false`: a failure inside a function does not fire the ERR trap that names the step.)
devstack_ask check-samconfig "$ENVIRONMENT" || false
if [[ "$ENVIRONMENT" == local ]]; then
    use_emulator
    if [[ -z "${API_URL:-}" && "${SKIP_CHECKS:-0}" != 1 ]]; then
        echo "ENV=local: the emulator cannot serve the function, so its ApiUrl answers nothing." >&2
        echo "Set API_URL to the local chain (make dev prints it), or SKIP_CHECKS=1 to deploy only." >&2
        false
    fi
elif [[ -n "${AWS_ENDPOINT_URL:-}" ]]; then
    echo "note: AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL is set: deploying $ENVIRONMENT to that endpoint, not AWS."
fi

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    step="sam build"
    say "Building"
    sam build --no-cached
else
    step="prebuilt artifact"
    [[ -f .aws-sam/build/template.yaml ]] || { echo "SKIP_BUILD=1 but .aws-sam/build/template.yaml is missing" >&2; false; }
fi

step="sam deploy"
say "Deploying $ENVIRONMENT"
if [[ "$ENVIRONMENT" == local ]]; then
    uv run --frozen devstack deploy --endpoint "$AWS_ENDPOINT_URL"
else
    deploy_args=(--config-env "$ENVIRONMENT" --no-progressbar)
    if [[ "${CI:-}" == true || "${NO_CONFIRM:-0}" == 1 ]]; then deploy_args+=(--no-confirm-changeset); fi
    sam deploy "${deploy_args[@]}"
fi

step="read stack outputs"
DEPLOYED_URL="$(scripts/stack.sh outputs "$ENVIRONMENT" | devstack_ask output ApiUrl)"
echo "Stack ApiUrl: $DEPLOYED_URL"
if [[ -n "${GITHUB_OUTPUT:-}" ]]; then echo "api-url=$DEPLOYED_URL" >>"$GITHUB_OUTPUT"; fi

if [[ "${SKIP_CHECKS:-0}" == 1 ]]; then
    echo "SKIP_CHECKS=1: no health check, no smoke tests."
    exit 0
fi
API_URL="${API_URL:-$DEPLOYED_URL}"
API_URL="${API_URL%/}"
export API_URL

step="health check"
say "Health check: $API_URL/health"
attempts="${HEALTH_ATTEMPTS:-10}"
for ((i = 1; i <= attempts; i++)); do
    if curl -fsS --max-time 15 "$API_URL/health"; then
        echo ""
        echo "✓ healthy (attempt $i)"
        break
    fi
    if ((i == attempts)); then
        echo "✗ $API_URL/health did not answer 200 after $attempts attempts" >&2
        false
    fi
    sleep $((i < 5 ? 3 : 10))
done

step="smoke tests"
say "Smoke tests against $API_URL"
EXPECTED_ENVIRONMENT="$ENVIRONMENT" uv run pytest tests/smoke -m smoke -p no:cacheprovider

step="done"
say "✓ $ENVIRONMENT deployed and verified: $API_URL"
