"""Route throttling as HTTP API applies a stage's DefaultRouteSettings/RouteSettings: a token bucket per
route (rate = ThrottlingRateLimit tokens a second, capacity = ThrottlingBurstLimit), one token a request;
a request that finds the bucket empty gets 429 and is not invoked. See docs/gateway.md ("Throttling")."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ThrottleLimits:
    """ThrottlingRateLimit (requests a second) and ThrottlingBurstLimit (the bucket's size)."""

    rate: float
    burst: int


class TokenBucket:
    """Starts full; refills continuously at `rate` up to `burst`."""

    def __init__(self, limits: ThrottleLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._tokens = float(limits.burst)
        self._updated = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Take one token if there is one."""
        with self._lock:
            now = self._clock()
            refilled = self._tokens + (now - self._updated) * self.limits.rate
            self._tokens = min(float(self.limits.burst), refilled)
            self._updated = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False


class RouteThrottles:
    """One bucket per throttled route key; a route without limits is never throttled here."""

    def __init__(self, limits: Mapping[str, ThrottleLimits]) -> None:
        self._buckets = {route_key: TokenBucket(route_limits) for route_key, route_limits in limits.items()}

    def admit(self, route_key: str) -> bool:
        bucket = self._buckets.get(route_key)
        return bucket is None or bucket.take()
