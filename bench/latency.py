"""Warm latency and throughput with a real load generator (hey, built from the Go module proxy into the tool
cache): p50, p99 and req/s of GET /health and an authenticated GET /notes, direct (uvicorn inside the
function) vs through the chain (gateway -> RIE -> adapter -> uvicorn), 1 and 8 concurrent clients,
interleaved direct/chain within each round. With 8 clients the 2 cores are saturated, so throughput follows
the CPU each request costs: a row per path gives it, chain vs direct, hop by hop (`cpu_by_hop`). Direct is one
uvicorn serving all 8 at once, where the chain spreads them over its environments one at a time each (as
Lambda does), which costs the app more CPU per request: a second baseline drives those same environments' apps
directly, one client each, so that its ratio is what the hops (gateway, RIE, adapter) cost."""

from __future__ import annotations

import csv
import io
import os
import resource
import subprocess
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.measure import Row, median, rounds
from devstack.emulators import firebase_accounts
from devstack.emulators.firebase_accounts import AuthUser
from devstack.environment import Endpoints, RunningEnvironment
from devstack.lambdafn.runtime import LambdaChain
from devstack.tools import go_tool

GROUP = "latency"
HEY_VERSION = "0.1.5"
NOTES = 20
"""Notes the user owns, so GET /notes lists a page of real items."""


def hey() -> str:
    """The hey binary, built once per version into the tool cache."""
    return str(go_tool("hey", "github.com/rakyll/hey", HEY_VERSION))


@dataclass(frozen=True)
class Load:
    p50_ms: float
    p99_ms: float
    rps: float
    refused: Counter[str]
    """Non-200 answers by status (the chain throttles past its execution environments, as Lambda does)."""


def load(
    binary: str, url: str, *, requests: int, clients: int, token: str | None, rate: float | None = None
) -> Load:
    """`hey -o csv`: one line per request (response-time, ..., status-code, offset), all in seconds.
    `rate`: requests per second per client (hey -q), to stay under a route's throttle."""
    argv = [binary, "-n", str(requests), "-c", str(clients), "-o", "csv"]
    if rate:
        argv += ["-q", str(rate)]
    if token:
        argv += ["-H", f"Authorization: Bearer {token}"]
    output = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    records = list(csv.DictReader(io.StringIO(output)))
    times = sorted(float(record["response-time"]) for record in records)
    span = max(float(record["offset"]) + float(record["response-time"]) for record in records)
    refused = Counter(record["status-code"] for record in records if record["status-code"] != "200")
    sent = requests - requests % clients  # hey rounds -n down to a multiple of -c
    refused["no answer"] = sent - len(records)
    return Load(
        p50_ms=times[len(times) // 2] * 1000,
        p99_ms=times[min(len(times) - 1, int(len(times) * 0.99))] * 1000,
        rps=len(records) / span,
        refused=+refused,
    )


def answered_only(measured: Load, status: str, what: str) -> Load:
    """`measured`, when every request got `status`: a p50 of a throttle's 429s or of errors is not the one
    a row names."""
    others = {code: n for code, n in measured.refused.items() if code != status}
    if others or (status != "200" and status not in measured.refused):
        raise RuntimeError(f"{what} answered {others or 'only 200'} besides {status}")
    return measured


def load_each(binary: str, urls: list[str], *, requests: int, token: str | None) -> Load:
    """One client on each of `urls` at once, `requests` in all: their answers as one load (p50: the median
    of theirs, p99: the worst)."""
    with ThreadPoolExecutor(len(urls)) as pool:
        each = list(
            pool.map(
                lambda url: load(binary, url, requests=requests // len(urls), clients=1, token=token), urls
            )
        )
    return Load(
        p50_ms=median([one.p50_ms for one in each]),
        p99_ms=max(one.p99_ms for one in each),
        rps=sum(one.rps for one in each),
        refused=sum((one.refused for one in each), Counter[str]()),
    )


HOPS = (
    ("RIE", "aws-lambda-rie"),
    ("Web Adapter", "lambda-adapter"),
    ("app (uvicorn)", "main:app"),
    ("MiniStack", "ministack"),
    ("Firebase emulator", "firebase"),
)
"""A process's hop, by a word of its command line (the first that matches)."""
GATEWAY = "gateway (devstack process)"
CLIENT = "hey"
_TICK = os.sysconf("SC_CLK_TCK")


def cpu_by_hop() -> dict[int, tuple[str, float]]:
    """CPU seconds used so far by each process of the local environment (this process, which runs the
    gateway and the log shipping, and every process below it), with its hop; -1: the load generator's."""
    parents: dict[int, int] = {}
    used: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):  # not a process, or gone meanwhile
            continue
        pid = int(entry.name)
        parents[pid] = int(stat[1])
        hop = next((name for name, word in HOPS if word in command), "other")
        used[pid] = (hop, (int(stat[11]) + int(stat[12])) / _TICK)
    ours = {os.getpid()}
    while grown := {pid for pid, parent in parents.items() if parent in ours} - ours:
        ours |= grown
    mine = {pid: used[pid] for pid in ours}
    mine[os.getpid()] = (GATEWAY, mine[os.getpid()][1])
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # hey, once it has exited
    mine[-1] = (CLIENT, children.ru_utime + children.ru_stime)
    return mine


def cpu_per_request_ms(
    before: dict[int, tuple[str, float]],
    after: dict[int, tuple[str, float]],
    requests: int,
    into: dict[str, float],
) -> None:
    """Add the milliseconds of CPU per request, by hop, between two `cpu_by_hop` readings to `into`."""
    for pid, (hop, seconds) in after.items():
        into[hop] = into.get(hop, 0.0) + (seconds - before.get(pid, (hop, 0.0))[1]) * 1000 / requests


def user_with_notes(endpoints: Endpoints) -> AuthUser:
    """A new user owning NOTES notes (created straight on the app), whose GET /notes lists real items."""
    user = firebase_accounts.sign_up(
        endpoints.firebase_auth_host, f"bench-{uuid.uuid4().hex[:8]}@example.com"
    )
    auth = {"Authorization": f"Bearer {user.id_token}"}
    for number in range(NOTES):
        httpx.post(
            f"{endpoints.app}/notes", json={"title": f"note {number}"}, headers=auth, timeout=10
        ).raise_for_status()
    return user


def run(environment: RunningEnvironment) -> list[Row]:
    endpoints = environment.endpoints
    binary = hey()
    user = user_with_notes(endpoints)
    cases = [("/health", None), ("/notes", user.id_token)]
    targets = {"direct": endpoints.app, "chain": endpoints.api}
    # Warm every execution environment 8 clients need (each starts with a cold start).
    for path, token in cases:
        load(binary, f"{endpoints.api}{path}", requests=64, clients=8, token=token)
    # The chain serves 8 clients with these (LAMBDA_MAX_ENVIRONMENTS), one request at a time each.
    apps = [
        f"http://127.0.0.1:{chain.app_port}"
        for chain in environment.function.environments.environments
        if isinstance(chain, LambdaChain)
    ]
    samples: dict[tuple[str, int, str], list[Load]] = {}
    cpu: dict[tuple[str, str], dict[str, float]] = {}
    for _ in range(rounds(3)):
        for path, token in cases:
            for clients in (1, 8):
                # With 8 clients also each environment's app directly, one request at a time each.
                for target, base in [*targets.items(), *([("apps", "")] if clients == 8 else [])]:
                    requests = rounds(300, 100) if clients == 1 else rounds(400, 100)
                    before = cpu_by_hop()
                    measured = (
                        load(binary, f"{base}{path}", requests=requests, clients=clients, token=token)
                        if base
                        else load_each(
                            binary, [f"{app}{path}" for app in apps], requests=requests, token=token
                        )
                    )
                    samples.setdefault((path, clients, target), []).append(measured)
                    if clients == 8:
                        spent = cpu.setdefault((path, target), {})
                        cpu_per_request_ms(before, cpu_by_hop(), requests * rounds(3), spent)
    rows: list[Row] = []
    for path, _ in cases:
        for clients in (1, 8):
            direct, chain = samples[(path, clients, "direct")], samples[(path, clients, "chain")]
            what = f"GET {path}, {clients} client{'s' if clients > 1 else ''}"
            refused = sum((s.refused for s in chain), Counter[str]())
            refused_direct = sum((s.refused for s in direct), Counter[str]())
            p50_chain, p50_direct = median([s.p50_ms for s in chain]), median([s.p50_ms for s in direct])
            rows += [
                Row(
                    GROUP,
                    f"{what}: p50",
                    p50_chain,
                    "ms",
                    p50_direct,
                    "direct (uvicorn)",
                    note=f"chain overhead {p50_chain - p50_direct:.1f} ms"
                    + "".join(
                        f"; {where} non-200: {', '.join(f'{code}: {n}' for code, n in sorted(codes.items()))}"
                        for where, codes in (("chain", refused), ("direct", refused_direct))
                        if codes
                    ),
                ),
                Row(
                    GROUP,
                    f"{what}: p99",
                    median([s.p99_ms for s in chain]),
                    "ms",
                    median([s.p99_ms for s in direct]),
                    "direct (uvicorn)",
                ),
                Row(
                    GROUP,
                    f"{what}: throughput",
                    median([s.rps for s in chain]),
                    "req/s",
                    median([s.rps for s in direct]),
                    "direct (uvicorn)",
                ),
            ]
    for path, _ in cases:
        chain, apps_alone = samples[(path, 8, "chain")], samples[(path, 8, "apps")]
        rows.append(
            Row(
                GROUP,
                f"GET {path}, 8 clients: throughput vs the same {len(apps)} apps, 1 request each",
                median([s.rps for s in chain]),
                "req/s",
                median([s.rps for s in apps_alone]),
                f"each environment's app direct, 1 client each ({len(apps)} in all)",
                note="Lambda's one request per environment priced into the baseline: what the hops cost",
            )
        )
        chain_cpu, direct_cpu = cpu[(path, "chain")], cpu[(path, "direct")]
        rows.append(
            Row(
                GROUP,
                f"GET {path}, 8 clients: CPU per request (all processes)",
                sum(chain_cpu.values()),
                "ms",
                sum(direct_cpu.values()),
                "direct (uvicorn)",
                note="the cores are saturated: throughput ratio ~ direct CPU / chain CPU",
                detail=[
                    f"{target}: "
                    + ", ".join(
                        f"{hop} {ms:.2f}"
                        for hop, ms in sorted(spent.items(), key=lambda item: -item[1])
                        if ms >= 0.005
                    )
                    for target, spent in (
                        ("chain", chain_cpu),
                        ("direct", direct_cpu),
                        ("the apps direct", cpu[(path, "apps")]),
                    )
                ],
            )
        )
    return rows
