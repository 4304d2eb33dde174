#!/bin/sh
# Stand-in for the Lambda base image's /lambda-entrypoint.sh, with the same contract: exactly one argument, the
# handler (CMD), exported as _HANDLER; outside Lambda (no AWS_LAMBDA_RUNTIME_API) the Runtime Interface Emulator
# runs the runtime bootstrap and serves invokes on :8080, inside Lambda the bootstrap runs directly.
if [ $# -ne 1 ]; then
  echo "entrypoint requires the handler name to be the first argument" 1>&2
  exit 142
fi
export _HANDLER="$1"

RUNTIME_ENTRYPOINT=/var/runtime/bootstrap
if [ -z "${AWS_LAMBDA_RUNTIME_API}" ]; then
  exec /usr/local/bin/aws-lambda-rie "$RUNTIME_ENTRYPOINT"
else
  exec "$RUNTIME_ENTRYPOINT"
fi
