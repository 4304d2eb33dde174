"""Start: each emulator alone; the whole local environment (what `make dev` runs once installed and built)
cold (a fresh state dir) and warm (the same dir again); and `make dev` itself, as a developer types it (its
install check and build included), until it has written its run file (everything answers, the dev user too).
Groups that need a running environment (latency, per request, reload) run inside the warm one instead of
starting their own; its gateway plays the template with GET /health's throttle raised (load_test_template)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from bench.measure import Row, median, not_run, quiet, rounds
from devstack import config, paths
from devstack.emulators.firebase import firebase_auth
from devstack.emulators.ministack import ministack
from devstack.environment import RunningEnvironment, local_environment

GROUP = "start"
MAKE_DEV_TARGET_S = 6.0
MAKE_DEV_LIMIT_S = 300.0


def time_to_ready(context: Callable[[], AbstractContextManager[object]]) -> float:
    """Seconds from entering `context` until it yields (its part answers), then stops it."""
    began = time.perf_counter()
    with context():
        return time.perf_counter() - began


def load_test_template(directory: Path) -> Path:
    """template.yml with GET /health's own throttle (10/s, burst 20: a public route) raised to 100,000: the
    gateway applies the template's throttles, and the latency group would otherwise time its 429s."""
    text, raised = re.subn(
        r"(HealthThrottling(?:Rate|Burst)Limit:\n(?:[ ]+\w+: .*\n)*?[ ]+Default: )\d+",
        r"\g<1>100000",
        paths.TEMPLATE.read_text(),
    )
    if raised != 2:
        raise RuntimeError("template.yml: HealthThrottlingRateLimit/BurstLimit defaults not found")
    copy = directory / "template.yml"
    copy.write_text(text)
    return copy


def make_dev_s(state_dir: Path) -> float:
    """Seconds from `make dev` to its run file, in `state_dir` (DEVSTACK_STATE_DIR); then Ctrl-C."""
    run_file = state_dir / paths.RUN_FILE.relative_to(paths.STATE_DIR)
    began = time.perf_counter()
    make_dev = subprocess.Popen(
        ["make", "--no-print-directory", "dev"],
        cwd=paths.REPO_ROOT,
        env={**os.environ, "DEVSTACK_STATE_DIR": str(state_dir)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        while not run_file.exists():
            if make_dev.poll() is not None:
                error = make_dev.stderr.read().decode(errors="replace") if make_dev.stderr else ""
                raise RuntimeError(f"make dev exited with {make_dev.returncode}: {error[-300:]}")
            if time.perf_counter() - began > MAKE_DEV_LIMIT_S:
                raise RuntimeError(f"make dev was not up within {MAKE_DEV_LIMIT_S:.0f} s")
            time.sleep(0.1)
        return time.perf_counter() - began
    finally:
        # A make dev that exited (a taken port) took its group along: its error, raised above, is the one.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(make_dev.pid, signal.SIGINT)
        make_dev.wait(timeout=60)


def run(during_warm: Sequence[Callable[[RunningEnvironment], list[Row]]] = ()) -> list[Row]:
    ministack_s = median(
        [
            time_to_ready(lambda: ministack(config.load().isolated().aws, paths.TEMPLATE, sink=quiet))
            for _ in range(rounds(3))
        ]
    )

    def firebase(*, fast_start: bool = True) -> AbstractContextManager[object]:
        facts = config.load().isolated()
        return firebase_auth(facts.firebase, facts.ports.firebase, sink=quiet, fast_start=fast_start)

    firebase_s = median([time_to_ready(firebase) for _ in range(rounds(2))])
    shipped_firebase_s = median([time_to_ready(lambda: firebase(fast_start=False)) for _ in range(rounds(2))])
    rows: list[Row] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-env-") as state,
        tempfile.TemporaryDirectory(prefix="bench-api-") as api_dir,
    ):
        data_dir = Path(state)
        cold_s = time_to_ready(
            lambda: local_environment(config.load().isolated(), data_dir=data_dir, sink=quiet)
        )
        began = time.perf_counter()
        api_template = load_test_template(Path(api_dir))
        with local_environment(
            config.load().isolated(), data_dir=data_dir, api_template=api_template, sink=quiet
        ) as environment:
            warm_s = time.perf_counter() - began
            for measure in during_warm:
                try:
                    rows += measure(environment)
                except Exception as error:
                    traceback.print_exc()
                    group = measure.__module__.rpartition(".")[2].replace("_", " ")
                    rows.append(
                        not_run(group, "(whole group)", f"{type(error).__name__}: {str(error)[:200]}")
                    )
    with tempfile.TemporaryDirectory(prefix="bench-make-dev-") as state:
        first_s = make_dev_s(Path(state))
        make_dev_warm_s = median([make_dev_s(Path(state)) for _ in range(rounds(2))])
    env = "local environment, warm"
    return [
        Row(
            GROUP,
            "make dev, warm (tools, build and data present)",
            make_dev_warm_s,
            "s",
            firebase_s,
            "the Firebase emulator alone (the issue's floor)",
            note=(
                f"target {MAKE_DEV_TARGET_S:.0f} s; its first start in a fresh state dir: {first_s:.1f} s "
                f"(deploy, dev user); MiniStack alone {ministack_s:.1f} s"
            ),
        ),
        Row(
            GROUP,
            "local environment: warm vs cold state dir",
            warm_s,
            "s",
            cold_s,
            "cold (fresh state dir)",
            note="devstack.environment.local_environment: emulators, deploy, gateway, first cold start",
        ),
        Row(GROUP, "MiniStack alone", ministack_s, "s", warm_s, env),
        Row(GROUP, "Firebase Auth emulator alone", firebase_s, "s", warm_s, env),
        Row(
            GROUP,
            "Firebase Auth emulator alone: fast start vs as shipped",
            firebase_s,
            "s",
            shipped_firebase_s,
            "firebase-tools as it ships",
            note="firebase-emulator/fast-start.cjs: the Auth API's validators compiled at first use",
        ),
        *rows,
    ]
