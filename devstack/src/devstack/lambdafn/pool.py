"""Lambda's side of an invocation: which execution environment runs it, and how long to wait for one.

As on Lambda, an environment runs one invocation at a time. A request that finds no idle environment gets a
new one, which pays a cold start (RIE runs init inside its first invocation), up to `max_environments`:
the function's reserved concurrency when the template sets one (past it Lambda throttles), else a local
bound (past it requests wait for an environment, inside their integration timeout, at most `max_waiting`
at a time; then they are throttled too). Idle environments stop after `idle_s`, except the first one,
which stays warm on the configured ports so the app can be reached directly.

Every wait counts toward the request's deadline, a cold start's included, and a request whose client has
left is dropped: neither is ever invoked. An environment whose start outlives its request still joins the
pool once started (Lambda keeps an environment whose init finished): the next request gets it warm.

`reload()` starts a new generation (new code in the artifact): idle environments stop at once, busy ones
when their invocation ends, and the next requests get new environments. With `replace_in_place` (make debug:
the environment holds the one debugger port) every environment of the old code stops first, busy ones too.
Every invocation, a warm-up
included, takes an environment from here: two invocations never reach one RIE at once (RIE crashes on that).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from devstack.lambdafn.rie_client import RieAnswer, RieConnection, RieError
from devstack.supervision import LogSink, print_sink

#: Lambda's limit on an invocation's payload (the event), in bytes.
MAX_INVOKE_PAYLOAD_BYTES = 6 * 1024 * 1024
#: Requests that may wait for an environment at once; past it, Lambda's throttle.
MAX_WAITING = 64
#: How much longer than the function's Timeout an invocation may occupy RIE (RIE ends it at the Timeout).
INVOCATION_GRACE_S = 5.0
#: Connecting to a started RIE is immediate; past this it is not there.
CONNECT_TIMEOUT_S = 5.0
#: Lambda keeps an idle environment for minutes, unspecified; locally 5 minutes.
IDLE_S = 300.0
#: How often idle environments are looked at (a dead one is reported within this).
SWEEP_EVERY_S = 1.0


class Environment(Protocol):
    """An execution environment: RIE with the function, at an invoke URL (LambdaChain is one)."""

    @property
    def invoke_url(self) -> str: ...

    @property
    def running(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def exit_report(self) -> str | None:
        """Once it ended on its own: how, and its last output."""
        ...


class RunningRie:
    """An RIE this process does not manage (compose's function container, a `devstack chain`)."""

    def __init__(self, invoke_url: str) -> None:
        self.invoke_url = invoke_url
        self.running = True

    def start(self) -> None:
        """Already running."""

    def stop(self) -> None:
        """Not ours to stop."""

    def exit_report(self) -> str | None:
        return None


class ThrottledError(Exception):
    """Lambda would throttle this invocation (HTTP API turns that into a 500)."""


class NoEnvironmentError(Exception):
    """No environment within the integration timeout, or RIE unreachable (HTTP API: 503)."""


class NewCodeFailedError(Exception):
    """The new code's first invocation did not answer 200: the old code keeps serving."""

    def __init__(self, invocation: Invocation) -> None:
        super().__init__(f"RIE {invocation.status}: {invocation.body[:300]!r}")
        self.invocation = invocation


class ClientGoneError(Exception):
    """The client left before an environment was free or started: the request is dropped, not invoked."""


@dataclass(eq=False)
class _Slot:
    number: int
    generation: int
    environment: Environment
    last_used: float = field(default_factory=time.monotonic)
    connection: RieConnection | None = None
    """Opened by the first invocation (an environment's invoke URL is known once it has started)."""

    def close_connection(self) -> None:
        if self.connection is not None:
            self.connection.close()


@dataclass(frozen=True)
class Invocation:
    answer: RieAnswer
    environment: int
    """The number of the environment that ran it (0 is the first)."""

    @property
    def status(self) -> int:
        return self.answer.status

    @property
    def function_error(self) -> bool:
        return self.answer.function_error

    @property
    def body(self) -> bytes:
        return self.answer.body

    @property
    def answered_ok(self) -> bool:
        return self.answer.answered_ok


class EnvironmentPool:
    """The function's execution environments, started on demand by `new_environment(number)`.

    Lives on the event loop of the gateway that serves it (`attach`); environments start and stop in
    worker threads. `reload` and `invoke_from_thread` may be called from any other thread.
    """

    def __init__(
        self,
        new_environment: Callable[[int], Environment],
        *,
        max_environments: int,
        throttle_at_max: bool,
        function_timeout_s: float,
        max_waiting: int = MAX_WAITING,
        idle_s: float = IDLE_S,
        replace_in_place: bool = False,
        sink: LogSink = print_sink,
    ) -> None:
        self.new_environment = new_environment
        self.max_environments = max_environments
        self.throttle_at_max = throttle_at_max
        self.function_timeout_s = function_timeout_s
        self.max_waiting = max_waiting
        self.idle_s = idle_s
        self.replace_in_place = replace_in_place
        self.sink = sink
        self.generation = 0
        self.invocations = 0
        self.started = 0
        self._slots: list[_Slot] = []
        self._idle: list[_Slot] = []
        self._waiters: deque[asyncio.Future[_Slot]] = deque()
        self._sweeper: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: set[int] = set()

    @classmethod
    def of_running_rie(
        cls, invoke_url: str, *, function_timeout_s: float = 30.0, max_waiting: int = MAX_WAITING
    ) -> EnvironmentPool:
        """One RIE that runs already and stays: requests take turns on it."""
        rie = RunningRie(invoke_url)
        return cls(
            lambda _number: rie,
            max_environments=1,
            throttle_at_max=False,
            function_timeout_s=function_timeout_s,
            max_waiting=max_waiting,
            sink=lambda _part, _line: None,
        )

    # -- what the gateway and the health route see ---------------------------------------------------
    @property
    def busy(self) -> int:
        return len(self._slots) - len(self._idle)

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    @property
    def environments(self) -> list[Environment]:
        """Every environment started and not stopped (idle, busy or being tried with new code)."""
        return [slot.environment for slot in self._slots]

    def stats(self) -> dict[str, int]:
        return {
            "environments": len(self._slots),
            "busy": self.busy,
            "waiting": self.waiting,
            "started": self.started,
            "invocations": self.invocations,
            "generation": self.generation,
        }

    # -- invoking ------------------------------------------------------------------------------------
    async def invoke(
        self,
        payload: bytes,
        *,
        deadline: float,
        client_gone: asyncio.Event,
        request_id: str | None = None,
    ) -> Invocation:
        """Run one invocation in an environment of its own, all of it before `deadline` (the event loop's
        clock), under `request_id` when given (RIE's START/REPORT lines name it). When the caller stops
        waiting, the invocation still runs to its end and its environment is taken by nobody else until
        then (RIE answers 400 to an overlapping invocation)."""
        slot = await self._checkout(deadline, client_gone)
        return await self._run_on(slot, payload, deadline, request_id)

    async def _run_on(
        self, slot: _Slot, payload: bytes, deadline: float, request_id: str | None = None
    ) -> Invocation:
        """Invoke `slot`'s environment, which this invocation holds until RIE answers; then check it in."""
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:  # an invocation nobody waits for would still hold the environment
            self._checkin(slot, failed=False)
            raise NoEnvironmentError(f"environment {slot.number} was free too late: not invoked")
        self.invocations += 1
        if slot.connection is None:
            slot.connection = RieConnection(
                slot.environment.invoke_url,
                connect_timeout_s=CONNECT_TIMEOUT_S,
                hold_limit_s=self.function_timeout_s + INVOCATION_GRACE_S,
            )
        task = asyncio.ensure_future(slot.connection.post(payload, request_id=request_id))
        task.add_done_callback(lambda done: self._checkin(slot, failed=_failed(done)))
        try:
            answer = await asyncio.wait_for(asyncio.shield(task), remaining)
        except TimeoutError as exc:
            raise NoEnvironmentError(f"environment {slot.number} did not answer in time") from exc
        except RieError as exc:
            raise NoEnvironmentError(str(exc)) from exc
        return Invocation(answer, slot.number)

    async def _checkout(self, deadline: float, client_gone: asyncio.Event) -> _Slot:
        self._start_sweeper()
        while self._idle:
            slot = self._idle.pop()  # the most recently used: the warmest
            if slot.environment.running:
                return slot
            self._replace_dead(slot)
        if len(self._slots) < self.max_environments:
            return await self._claim(self._start_slot(), deadline, client_gone, "no environment started")
        if self.throttle_at_max or len(self._waiters) >= self.max_waiting:
            raise ThrottledError
        turn: asyncio.Future[_Slot] = asyncio.get_running_loop().create_future()
        self._waiters.append(turn)
        try:
            return await self._claim(turn, deadline, client_gone, "no environment free")
        finally:
            self._waiters.remove(turn)  # a turn given up is never set: nobody finds it any more

    async def _claim(
        self, coming: asyncio.Future[_Slot], deadline: float, client_gone: asyncio.Event, late: str
    ) -> _Slot:
        """The slot `coming` brings (a turn, or an environment starting), if it comes before `deadline` and
        while the client waits. Else the request is given up and the slot, whenever it comes, is the pool's:
        a start cannot be taken back (it runs in a thread), and the environment it makes is as good as warm
        for the next request."""
        loop = asyncio.get_running_loop()
        leaving: asyncio.Future[Any] = asyncio.ensure_future(client_gone.wait())
        try:
            remaining = max(0.0, deadline - loop.time())
            await asyncio.wait((coming, leaving), timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        finally:
            leaving.cancel()
        if coming.done() and not client_gone.is_set():
            return coming.result()  # a start that failed raises its NoEnvironmentError here
        coming.add_done_callback(self._keep)
        if client_gone.is_set():
            raise ClientGoneError
        raise NoEnvironmentError(f"{late} within the integration timeout")

    def _keep(self, coming: asyncio.Future[_Slot]) -> None:
        """A slot that came for a request given up goes back to the pool; a start that failed is said (no
        request is left to say it)."""
        if coming.cancelled():
            return
        if (error := coming.exception()) is not None:
            self.sink("lambda", str(error))
            return
        self._checkin(coming.result(), failed=False)

    def _start_slot(
        self, new_environment: Callable[[int], Environment] | None = None, generation: int | None = None
    ) -> asyncio.Task[_Slot]:
        """A new environment: its number and its room in the pool taken at once (requests arriving together
        count it), its start in a worker thread (the task)."""
        # A stopping environment keeps its number (and so its ports) until it has stopped.
        taken = {slot.number for slot in self._slots} | self._stopping
        number = next(n for n in range(len(taken) + 1) if n not in taken)
        make = new_environment or self.new_environment
        slot = _Slot(number, self.generation if generation is None else generation, make(number))
        self._slots.append(slot)
        self.sink("lambda", f"environment {number}: starting (cold start) — {len(self._slots)} running")
        return asyncio.ensure_future(self._start(slot))

    async def _start(self, slot: _Slot) -> _Slot:
        try:
            await asyncio.to_thread(slot.environment.start)
        except Exception as exc:
            self._slots.remove(slot)
            raise NoEnvironmentError(f"environment {slot.number} did not start: {exc}") from exc
        self.started += 1
        return slot

    def _checkin(self, slot: _Slot, *, failed: bool) -> None:
        slot.last_used = time.monotonic()
        if slot.generation > self.generation:
            return  # a candidate's probe: _promote keeps or discards it
        if slot not in self._slots:
            pass  # stopped while busy (replaced in place): nothing to discard
        elif slot.generation != self.generation:
            self._discard(slot, "stopping: replaced by new code")
        elif not slot.environment.running:
            self._replace_dead(slot)
        else:
            for turn in self._pending_turns():
                turn.set_result(slot)
                return
            self._idle.append(slot)
            return
        if failed:
            self.sink("lambda", f"environment {slot.number}: its invocation failed")
        self._fill_room()

    def _fill_room(self) -> None:
        """A waiter may now start an environment in the room a discarded one left."""
        for turn in self._pending_turns():
            self._background(self._start_for(turn))

    async def _start_for(self, turn: asyncio.Future[_Slot]) -> None:
        """Start an environment for a waiter; if it has gone meanwhile, the next one gets it."""
        try:
            slot = await self._start_slot()
        except NoEnvironmentError as exc:
            if not turn.done():
                turn.set_exception(exc)
            return
        if turn.done():
            self._checkin(slot, failed=False)
        else:
            turn.set_result(slot)

    def _background(self, work: Coroutine[None, None, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._tasks.discard)

    def _pending_turns(self) -> list[asyncio.Future[_Slot]]:
        return [turn for turn in self._waiters if not turn.done()][:1]

    def _replace_dead(self, slot: _Slot) -> None:
        """As Lambda replaces an environment that crashed: said, and a new one for the next request."""
        report = slot.environment.exit_report() or "exited on its own"
        self._discard(slot, f"{report}\n  (a new environment starts for the next request, as on Lambda)")

    def _discard(self, slot: _Slot, why: str) -> asyncio.Future[None]:
        """Stop `slot`'s environment (in a worker thread); the future is done once it has stopped."""
        with contextlib.suppress(ValueError):
            self._slots.remove(slot)
        with contextlib.suppress(ValueError):
            self._idle.remove(slot)
        self.sink("lambda", f"environment {slot.number}: {why}")
        slot.close_connection()
        self._stopping.add(slot.number)
        stopped = asyncio.get_running_loop().run_in_executor(None, slot.environment.stop)
        stopped.add_done_callback(lambda _: self._stopping.discard(slot.number))
        return stopped

    # -- lifecycle -----------------------------------------------------------------------------------
    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """The event loop this pool lives on (the gateway calls it when it starts serving)."""
        self._loop = loop

    def promote(
        self, new_environment: Callable[[int], Environment], probe: bytes, *, timeout_s: float
    ) -> Invocation:
        """New code: start an environment with `new_environment`, send it `probe` (a cold start), and only if
        the function answers 200 make it the code every next request gets. Idle environments of the old
        code stop then, busy ones after their invocation. Until then, and for good if the new code fails
        (NewCodeFailedError), requests keep getting the old code. Called from outside the loop."""
        return self._on_its_loop(self._promote(new_environment, probe, timeout_s)).result()

    async def _promote(
        self, new_environment: Callable[[int], Environment], probe: bytes, timeout_s: float
    ) -> Invocation:
        deadline = asyncio.get_running_loop().time() + timeout_s
        if self.replace_in_place:
            why = "stopping: the new code takes its place (one debugger port)"
            await asyncio.gather(*(self._discard(slot, why) for slot in list(self._slots)))
        candidate = await self._start_slot(new_environment, generation=self.generation + 1)
        try:
            invocation = await self._run_on(candidate, probe, deadline)
        except NoEnvironmentError:
            self._discard(candidate, "stopping: the new code did not answer in time")
            self._fill_room()
            raise
        if not invocation.answered_ok:
            self._discard(candidate, "stopping: the new code did not answer 200")
            self._fill_room()
            raise NewCodeFailedError(invocation)
        self.generation = candidate.generation
        self.new_environment = new_environment
        self._checkin(candidate, failed=False)
        for slot in list(self._idle):
            if slot.generation != self.generation:
                self._discard(slot, "stopping: replaced by new code")
        return invocation

    def invoke_from_thread(self, payload: bytes, *, timeout_s: float) -> Invocation:
        """`invoke` for a caller outside the loop (the start-up warm-up), through the same environments."""
        return self._on_its_loop(self._invoke_within(payload, timeout_s, None)).result()

    async def invoke_from_another_loop(
        self, payload: bytes, *, timeout_s: float, request_id: str | None = None
    ) -> Invocation:
        """`invoke` for a caller on an event loop of its own (Lambda's Invoke API), through the same
        environments; cancelling the caller gives the invocation up as a client that left would."""
        return await asyncio.wrap_future(
            self._on_its_loop(self._invoke_within(payload, timeout_s, request_id))
        )

    async def _invoke_within(self, payload: bytes, timeout_s: float, request_id: str | None) -> Invocation:
        deadline = asyncio.get_running_loop().time() + timeout_s
        return await self.invoke(
            payload, deadline=deadline, client_gone=asyncio.Event(), request_id=request_id
        )

    def _on_its_loop(self, work: Coroutine[None, None, Invocation]) -> concurrent.futures.Future[Invocation]:
        return asyncio.run_coroutine_threadsafe(work, self._attached())

    def _attached(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or self._loop.is_closed():
            raise RuntimeError("the environment pool is not served by a running gateway")
        return self._loop

    def _start_sweeper(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.ensure_future(self._sweep())

    async def _sweep(self) -> None:
        """Every SWEEP_EVERY_S: idle environments that died are said and dropped, long-idle ones stopped."""
        while True:
            await asyncio.sleep(min(self.idle_s, SWEEP_EVERY_S))
            now = time.monotonic()
            for slot in list(self._idle):
                if not slot.environment.running:
                    self._replace_dead(slot)
                elif slot.number != 0 and now - slot.last_used > self.idle_s:
                    self._discard(slot, f"stopping: idle for {self.idle_s:.0f} s")

    async def aclose(self) -> None:
        """Stop every environment (busy ones too) and close the connections to them."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for slot in self._slots:
            slot.close_connection()
        await asyncio.to_thread(self.stop_all)

    def stop_all(self) -> None:
        """Stop every environment, from any thread once the loop has stopped (idempotent)."""
        slots, self._slots, self._idle = list(self._slots), [], []
        for slot in slots:
            slot.environment.stop()


def _failed(done: asyncio.Future[RieAnswer]) -> bool:
    # Retrieved here too, for when nobody awaits the invocation any more (its caller timed out).
    return done.cancelled() or done.exception() is not None
