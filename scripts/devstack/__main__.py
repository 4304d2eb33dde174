"""`python -m devstack dev|token`: what `make dev` and `make token` run."""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time

from devstack import auth_emulator
from devstack.environment import Endpoints, Ports, local_environment
from devstack.lambda_chain import LambdaChain
from devstack.paths import LOCAL_STATE, REPO_ROOT, RUN_FILE, tool
from devstack.procs import StartupError, print_sink

DEV_EMAIL = "dev@example.com"


def _banner(endpoints: Endpoints, token: str) -> str:
    return f"""
  Local Lambda chain is up.
    API (HTTP API v2 gateway -> RIE -> Web Adapter -> uvicorn)  {endpoints.api}
    App (uvicorn directly, for debugging)                        {endpoints.app}
    AWS emulator (MiniStack)                                      {endpoints.aws}
    Firebase Auth emulator                                        http://{endpoints.firebase_auth_host}
    Table {endpoints.table}   Bucket {endpoints.bucket}

  Try it (token for {DEV_EMAIL}; `make token EMAIL=...` for others):
    curl -s -H "Authorization: Bearer {token}" {endpoints.api}/users/me

  Code changes under backend/ rebuild the artifact and restart the function. Ctrl-C stops everything.
"""


def _rebuild_on_change(chain: LambdaChain) -> None:
    from watchfiles import watch

    for changes in watch(REPO_ROOT / "backend", watch_filter=lambda _, path: not path.endswith("~")):
        started = time.monotonic()
        print_sink("reload", f"{len(changes)} change(s) in backend/: sam build, then restarting the function")
        build = subprocess.run(
            [tool("sam"), "build", "--template", "template.yml"], cwd=REPO_ROOT, check=False
        )
        if build.returncode != 0:
            print_sink("reload", "build failed; the previous version keeps running. Fix the code and save.")
            continue
        chain.restart()
        chain.wait_ready()
        print_sink("reload", f"new code live in {time.monotonic() - started:.1f}s")


def _stop_on_signals() -> None:
    """Ctrl-C, a closed terminal and a plain `kill` all unwind the same way, stopping every part.

    Without this, SIGTERM/SIGHUP would end this process at once and orphan the parts (each runs in
    its own session), and SIGINT stays ignored when `make dev` was started in the background.
    """

    def interrupt(signum: int, _frame: object) -> None:
        # A second Ctrl-C must not cut the shutdown short (emulators export their data on the way out).
        for again in signals:
            signal.signal(again, lambda *_: print_sink("devstack", "still stopping, one moment..."))
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    for signum in signals:
        signal.signal(signum, interrupt)


def dev() -> int:
    _stop_on_signals()
    data_dir = LOCAL_STATE / "data"
    with local_environment(Ports.from_env(), data_dir=data_dir) as (endpoints, chain):
        RUN_FILE.parent.mkdir(parents=True, exist_ok=True)
        RUN_FILE.write_text(json.dumps(endpoints.__dict__))
        try:
            user = auth_emulator.sign_in_or_up(endpoints.firebase_auth_host, DEV_EMAIL)
            print(_banner(endpoints, user.id_token), flush=True)
            _rebuild_on_change(chain)
        finally:
            RUN_FILE.unlink(missing_ok=True)
    return 0


def token(email: str, admin: bool) -> int:
    if not RUN_FILE.exists():
        raise StartupError("No running `make dev` found. Start it first (in another terminal).")
    endpoints = Endpoints(**json.loads(RUN_FILE.read_text()))
    user = auth_emulator.sign_in_or_up(endpoints.firebase_auth_host, email)
    if admin:
        auth_emulator.set_claims(
            endpoints.firebase_auth_host, endpoints.project_id, user.uid, {"role": "admin"}
        )
        user = auth_emulator.sign_in(endpoints.firebase_auth_host, email)
    print(user.id_token)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="devstack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("dev", help="run the whole local chain until Ctrl-C")
    token_parser = commands.add_parser("token", help="print an ID token for a dev user")
    token_parser.add_argument("email")
    token_parser.add_argument("--admin", action="store_true", help="give the user the admin role first")
    args = parser.parse_args()
    try:
        return dev() if args.command == "dev" else token(args.email, args.admin)
    except StartupError as error:
        print(f"\nerror: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopped; no process left behind.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
