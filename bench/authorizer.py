"""Auth at the edge: what the API's JWT authorizer saves and what it costs. The warm environment's function
(environment 0: its RIE, Web Adapter and app) behind two gateways of template.yml's API, one at a time: with
its authorizer, and without it (the template before: every route invoked, the app alone refusing tokens).
Throttles are left out of both, so only the authorizer differs. hey sends the requests (latency.py). On a
shared machine a p50 difference of tenths of a millisecond is within noise: the authorizer's own cost per
request is measured alone too, in process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from bench.latency import answered_only, hey, load, user_with_notes
from bench.measure import Row, median, rounds
from devstack.apigw.api_config import ApiConfig
from devstack.apigw.authorizer import JwtVerifier
from devstack.apigw.gateway import Gateway
from devstack.environment import RunningEnvironment
from devstack.lambdafn.pool import EnvironmentPool
from devstack.lambdafn.runtime import invoke_url
from devstack.stack.model import local_stack
from devstack.supervision import ServerThread

GROUP = "authorizer"
FLOOD = 1000
ADDED_COST_GOAL_MS = 0.3
ALONE_CALLS = 5000


def alone_ms(api: ApiConfig, token: str) -> float:
    """The gateway's authorizer on one token, per call, in this process (no HTTP, no function)."""
    verifier = JwtVerifier(emulator_issuer=api.emulator_issuer)
    (authorizer,) = api.authorizers.values()

    async def timed() -> float:
        await verifier.authorize(authorizer, (), f"Bearer {token}")
        began = time.perf_counter()
        for _ in range(ALONE_CALLS):
            await verifier.authorize(authorizer, (), f"Bearer {token}")
        return (time.perf_counter() - began) / ALONE_CALLS * 1000

    return asyncio.run(timed())


@contextmanager
def gateway(api: ApiConfig, rie: str) -> Iterator[tuple[str, EnvironmentPool]]:
    """A gateway playing `api` in front of a running RIE: its URL and its pool (which counts invocations)."""
    pool = EnvironmentPool.of_running_rie(rie)
    with ServerThread(Gateway(pool, api=replace(api, throttling={}))) as server:
        yield server.url, pool


def run(environment: RunningEnvironment) -> list[Row]:
    facts = environment.function.factory.facts
    rie = invoke_url("127.0.0.1", facts.ports.rie)
    guarded = local_stack(facts).api
    before = replace(
        guarded, authorizers={}, routes=tuple(replace(route, authorizer=None) for route in guarded.routes)
    )
    binary = hey()
    token = user_with_notes(environment.endpoints).id_token
    invocations: dict[str, int] = {}
    p50: dict[tuple[str, str], list[float]] = {}
    with gateway(guarded, rie) as (with_url, with_pool), gateway(before, rie) as (without_url, without_pool):
        targets = {"with": (with_url, with_pool), "without": (without_url, without_pool)}
        for name, (url, pool) in targets.items():
            counted = pool.stats()["invocations"]
            load(binary, f"{url}/notes", requests=FLOOD, clients=8, token=None)
            invocations[name] = pool.stats()["invocations"] - counted
        for _ in range(rounds(3)):
            for case, case_token in (("refused", None), ("accepted", token)):
                for name, (url, _) in targets.items():
                    measured = load(
                        binary, f"{url}/notes", requests=rounds(300, 100), clients=1, token=case_token
                    )
                    status = "401" if case_token is None else "200"
                    answered_only(measured, status, f"GET /notes {case}, {name} the authorizer")
                    p50.setdefault((case, name), []).append(measured.p50_ms)
    refused = {name: median(p50[("refused", name)]) for name in targets}
    accepted = {name: median(p50[("accepted", name)]) for name in targets}
    added = accepted["with"] - accepted["without"]
    without = "without the authorizer (the template before)"
    return [
        Row(
            GROUP,
            f"{FLOOD} requests without a token: function invocations",
            invocations["with"],
            "",
            invocations["without"],
            without,
            note="goal 0: refused by the gateway's 401 before Lambda",
        ),
        Row(
            GROUP,
            "GET /notes without a token, 1 client: p50",
            refused["with"],
            "ms",
            refused["without"],
            "through Lambda (the app's 401)",
        ),
        Row(
            GROUP,
            "GET /notes with a valid token, 1 client: p50",
            accepted["with"],
            "ms",
            accepted["without"],
            without,
            note=f"the authorizer adds {added:.2f} ms (goal < {ADDED_COST_GOAL_MS} ms)",
        ),
        Row(
            GROUP,
            "the authorizer alone, an emulator token: per request",
            median([alone_ms(guarded, token) for _ in range(rounds(3))]),
            "ms",
            ADDED_COST_GOAL_MS,
            "the goal for its added cost",
        ),
    ]
