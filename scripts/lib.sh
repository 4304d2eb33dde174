# Shared by the shell scripts: pinned versions, the tool cache on PATH, and friendly failures.
# shellcheck shell=bash
set -a
# shellcheck source=scripts/versions.env
source "$(dirname "${BASH_SOURCE[0]}")/versions.env"
set +a
TOOLS_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/fastapi-lambda"
mkdir -p "$TOOLS_CACHE/bin"
export UV_TOOL_DIR="$TOOLS_CACHE/uv-tools" UV_TOOL_BIN_DIR="$TOOLS_CACHE/bin"
# uv must never download a Python build: it uses the machine's interpreters.
export UV_PYTHON_DOWNLOADS=never
export PATH="$TOOLS_CACHE/bin:$PATH"

die() { printf '\nerror: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed. $2"; }

# Lambda's interpreter (CPython 3.13) when the machine has one: on PATH, or under pyenv.
lambda_python() {
  local candidate
  for candidate in "$(command -v python3.13 2>/dev/null)" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13.*/bin/python3.13; do
    # A pyenv shim can exist for a version that is not active: it must actually run.
    [ -x "$candidate" ] && "$candidate" -c 'import sys' 2>/dev/null && { echo "$candidate"; return 0; }
  done
  return 1
}
