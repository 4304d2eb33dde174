#!/bin/bash
# Entry point for the Lambda Web Adapter (Handler: run.sh). `python3 -m` because /var/task/bin is not on PATH.
# The app logs one JSON line per request itself, so uvicorn's access log is off.
set -euo pipefail
cd "$(dirname "$0")"
exec python3 -m uvicorn main:app --host 0.0.0.0 --port "$PORT" --no-access-log
