#!/bin/sh
# The function's container: its environment as the deploy service wrote it (the template's variables, the
# deployed table and bucket, the emulators' addresses), then the base image's entrypoint: RIE with the handler,
# under the output relay that serves its lines to the gateway (which ships them to the function's log group, as
# Lambda does). -I: the function's PYTHON* variables are not the relay's.
set -eu
env_file=/run/function/function.env
[ -r "$env_file" ] || { echo "function-entrypoint: $env_file is missing: the deploy service writes it" >&2; exit 1; }
set -a
# shellcheck source=/dev/null
. "$env_file"
set +a
exec python3 -I /usr/local/lib/devstack/output_relay.py /lambda-entrypoint.sh "$_HANDLER"
