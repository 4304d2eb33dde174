#!/usr/bin/env bash
# backend/requirements.txt is what sam build installs into the zip: it must match uv.lock.
# devstack defines the export (devstack.tools.requirements_export); `make requirements` writes it.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
devstack_ask requirements --check
