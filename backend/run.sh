#!/bin/bash
# Entry point for the Lambda Web Adapter (Handler: run.sh). `python3 -m` because /var/task/bin is not on PATH.
# The app logs one JSON line per request itself, so uvicorn's access log is off.
# BIND_HOST is unset on Lambda (all interfaces of the sandbox); the local chain sets 127.0.0.1 so an app
# that trusts emulator tokens is never reachable from the network.
set -euo pipefail
cd "$(dirname "$0")"
exec python3 -m uvicorn main:app --host "${BIND_HOST:-0.0.0.0}" --port "$PORT" --no-access-log
