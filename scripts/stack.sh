#!/usr/bin/env bash
# Stack operations behind the Makefile's one-liners. Config envs come from samconfig.toml.
#
#   scripts/stack.sh build                  sam build (backend/Makefile, no Docker)
#   scripts/stack.sh clean                  remove .aws-sam
#   scripts/stack.sh local-api              the emulators + sam local start-api on LOCAL_API_PORT (Docker)
#   scripts/stack.sh local-invoke [--event F]  sam local invoke on the running local-api (GET /health event)
#   scripts/stack.sh deploy-local           build + `devstack deploy` (config env `local`) to the emulator
#   scripts/stack.sh destroy-local          `devstack deploy --delete`: delete the emulator stack
#   scripts/stack.sh status ENV             stack status, outputs, function configuration
#   scripts/stack.sh logs ENV [--tail]      the function's logs (last 10 minutes; --tail follows)
#   scripts/stack.sh outputs ENV            stack outputs as JSON
#
# ENV is dev|staging|prod|local. `local` is the emulator (localstack/localstack.env: endpoint, region,
# credentials); the others talk to AWS with your usual credentials.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$PROJECT_ROOT"

need_sam() {
    command -v sam >/dev/null || die "the SAM CLI is not installed (make install puts it in $TOOLS_CACHE/bin)."
}

check_env() {
    case "${1:-}" in
        dev | staging | prod | local) ;;
        "") die "missing ENV: one of dev, staging, prod, local" ;;
        *) die "unknown ENV '$1': expected one of dev, staging, prod, local" ;;
    esac
}

# stack_name ENV -> the stack_name of that config env in samconfig.toml
stack_name() { devstack_ask stack-name "$1"; }

cmd_build() {
    need_sam
    sam build --no-cached "$@"
}

cmd_clean() { rm -rf .aws-sam; }

# The engine that answers, else the project's private one when it runs (devstack names the fix when none does).
# On the private engine (no registry) SAM's base image is the lambda-python stand-in, as `make up` builds it.
cmd_local_api() {
    need_sam
    if ! docker info >/dev/null 2>&1; then eval "$(scripts/engine.sh env 2>/dev/null || true)"; fi
    if [[ "${STAND_INS:-$(uses_private_engine && echo 1)}" == 1 ]]; then
        tests/compose/stand-ins/build.sh lambda-python
    fi
    uv run --frozen devstack local
}

cmd_local_invoke() {
    need_sam
    if ! docker info >/dev/null 2>&1; then eval "$(scripts/engine.sh env 2>/dev/null || true)"; fi
    uv run --frozen devstack local-invoke "$@"
}

cmd_deploy_local() {
    [[ "${SKIP_BUILD:-0}" == 1 ]] || cmd_build
    uv run --frozen devstack deploy "$@"
    echo "Deployed to the emulator. Note: it cannot run the function behind its HttpApi;"
    echo "the local chain (make dev) serves the API. See docs/local-emulator-limits.md."
}

cmd_destroy_local() { uv run --frozen devstack deploy --delete "$@"; }

cmd_outputs() {
    need_sam
    sam list stack-outputs --stack-name "$(stack_name "$1")" --output json
}

# boto3 from the project's .venv (make install); for local, use_emulator aimed it at the emulator.
cmd_status() { devstack_ask stack-status "$1"; }

cmd_logs() {
    local env="$1"
    shift
    need_sam
    local args=(--stack-name "$(stack_name "$env")" --name ApiFunction)
    if [[ "${1:-}" == "--tail" ]]; then args+=(--tail); else args+=(--start-time "${LOGS_SINCE:-10mins ago}"); fi
    [[ "$env" != local ]] || echo "(local: the lines make dev's chain shipped to the emulator)" >&2
    sam logs "${args[@]}"
}

command="${1:-}"
shift || true
case "$command" in
    build) cmd_build "$@" ;;
    clean) cmd_clean ;;
    local-api) cmd_local_api ;;
    local-invoke) cmd_local_invoke "$@" ;;
    deploy-local) cmd_deploy_local "$@" ;;
    destroy-local) cmd_destroy_local "$@" ;;
    status | logs | outputs)
        env="${1:-}"
        check_env "$env"
        shift
        [[ "$env" != local ]] || use_emulator
        "cmd_$command" "$env" "$@"
        ;;
    *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; [[ -z "$command" || "$command" == help ]] || die "unknown command '$command'"; exit 2 ;;
esac
