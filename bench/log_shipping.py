"""What shipping the function's lines to CloudWatch Logs costs a request: the gateway's warm p50 of
GET /health (1 client, hey) with the LogShipper tapping every execution environment (as `make dev` runs) vs
the same environments without it, switched back and forth within one run. The issue's target: 0.3 ms."""

from __future__ import annotations

from dataclasses import replace

from bench.latency import answered_only, hey, load
from bench.measure import Row, median, rounds
from devstack.environment import RunningEnvironment

GROUP = "log shipping"
TARGET_MS = 0.3


def run(environment: RunningEnvironment) -> list[Row]:
    function = environment.function
    shipping = function.factory
    shipper = shipping.shipper
    if shipper is None:
        raise RuntimeError("the environment ships no logs: nothing to compare")
    factories = {"on": shipping, "off": replace(shipping, shipper=None)}
    url = f"{environment.endpoints.api}/health"
    binary = hey()
    samples: dict[str, list[float]] = {"on": [], "off": []}
    try:
        for number in range(rounds(6, 2)):
            # on/off, then off/on: a drift of the machine's load weighs on both alike.
            for state in ("on", "off") if number % 2 == 0 else ("off", "on"):
                function.serve(factories[state])  # new environments (a cold start), the others stop
                load(binary, url, requests=50, clients=1, token=None)  # warm
                measured = load(binary, url, requests=rounds(300, 100), clients=1, token=None)
                samples[state].append(answered_only(measured, "200", f"GET /health, shipping {state}").p50_ms)
    finally:
        function.serve(shipping)  # as make dev runs
    on, off = median(samples["on"]), median(samples["off"])
    return [
        Row(
            GROUP,
            "GET /health, 1 client: p50, log shipping on",
            on,
            "ms",
            off,
            "log shipping off",
            note=f"difference {on - off:+.2f} ms (target: within {TARGET_MS} ms); "
            f"lines lost while shipping: {shipper.lost}",
            detail=[
                f"round {number}: on {with_logs:.2f} ms, off {without:.2f} ms"
                for number, (with_logs, without) in enumerate(
                    zip(samples["on"], samples["off"], strict=True), 1
                )
            ],
        )
    ]
