#!/bin/sh
# Starts the Auth emulator in its container with the project's firebase.json, on FIREBASE_AUTH_PORT and on all
# of the container's interfaces (compose publishes it on 127.0.0.1 only). Users live in /data/users (the volume
# is /data: an export replaces its target directory, which a mount point cannot be): imported at start,
# exported on exit (SIGTERM), so they survive `docker compose down` + `up`.
set -eu
: "${FIREBASE_AUTH_PORT:?FIREBASE_AUTH_PORT is not set (compose passes it from devstack/devstack.env)}"
node -e '
  const fs = require("fs");
  const settings = JSON.parse(fs.readFileSync("firebase.json"));
  settings.emulators.auth = { ...settings.emulators.auth, host: "0.0.0.0", port: Number(process.env.FIREBASE_AUTH_PORT) };
  fs.writeFileSync("/tmp/firebase.json", JSON.stringify(settings));
'
project="$(node -p 'JSON.parse(require("fs").readFileSync(".firebaserc")).projects.default')"
case "$project" in
  demo-*) ;;
  *) echo "start.sh: project '$project' (.firebaserc) must start with demo-: only a demo project stays emulator-only" >&2; exit 1 ;;
esac
mkdir -p /data/users
# fast-start.cjs: the same emulator, its API's validators compiled at first use (as `make dev` runs it).
exec node --require ./fast-start.cjs node_modules/firebase-tools/lib/bin/firebase.js emulators:start --only auth --project "$project" --config /tmp/firebase.json \
  --import /data/users --export-on-exit /data/users
