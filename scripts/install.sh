#!/usr/bin/env bash
# `make install`: everything the project needs, pinned (devstack/devstack.env, localstack/localstack.env,
# firebase-emulator/package-lock.json), each step skipped when already done. Tools shared by every clone
# live in the tool cache (scripts/lib.sh), project packages in .venv and firebase-emulator/node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

# The machine's Python bootstraps uv (and answers devstack_ask until .venv exists).
need python3 "Install Python 3.11+ (e.g. apt-get install python3 python3-venv)."
machine_python="$(command -v python3)"

step "uv ${UV_VERSION}"
# Always the cache's own uv: the Makefile puts the cache first on PATH, whatever the user's shell has.
if [ "$("$TOOLS_CACHE/bin/uv" --version 2>/dev/null | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  "$machine_python" -m venv "$TOOLS_CACHE/uv-venv"
  "$TOOLS_CACHE/uv-venv/bin/pip" install --quiet --disable-pip-version-check "uv==${UV_VERSION}"
fi
ln -sf "$TOOLS_CACHE/uv-venv/bin/uv" "$TOOLS_CACHE/bin/uv"
ln -sf "$TOOLS_CACHE/uv-venv/bin/uvx" "$TOOLS_CACHE/bin/uvx"
echo "uv $(uv --version | cut -d' ' -f2) at $(command -v uv)"

python_for_venv="$(devstack_ask lambda-python)" || python_for_venv="$machine_python"
step "Python environment (.venv) on $python_for_venv (Lambda's CPython 3.13 when the machine has one)"
uv sync --frozen --python "$python_for_venv"

step "emulators, SAM CLI (+ samlocal) and AWS CLI (isolated tool virtualenvs)"
uv tool install --quiet --python "$python_for_venv" "ministack==${MINISTACK_VERSION}" \
  --with "aws-sam-translator==${AWS_SAM_TRANSLATOR_VERSION}"
uv tool install --quiet --python "$python_for_venv" "aws-sam-cli==${AWS_SAM_CLI_VERSION}" \
  --with "aws-sam-cli-local==${AWS_SAM_CLI_LOCAL_VERSION}" --with-executables-from aws-sam-cli-local
uv tool install --quiet --python "$python_for_venv" "awscli==${AWSCLI_VERSION}"
# uv's record of what is installed: asking each tool its version costs half a second (make dev runs this).
uv tool list | grep -v '^-' | paste -sd ' ' | sed 's/ v/ /g; s/\([0-9]\) /\1, /g'

step "Firebase Auth emulator (firebase-tools, npm; first time: about 3 minutes, 300 MB)"
npm_ci_locked firebase-emulator
# Its package.json, not `firebase --version` (which loads the whole CLI: 0.8 s).
echo "firebase-tools $(node -p "require('./firebase-emulator/node_modules/firebase-tools/package.json').version")"

step "Lambda Runtime Interface Emulator and Web Adapter (built from source, cached)"
scripts/install-lambda-tools.sh

printf '\nAll tools installed.\n'
