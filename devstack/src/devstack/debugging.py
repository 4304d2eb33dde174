"""What `make debug` (DEBUG=1 make dev) changes in the local chain, as `sam local start-api --debug-port`
does: one execution environment (every request reaches the one debugger), the function's Timeout and the
gateway's integration timeout lifted (a request paused at a breakpoint is never cut), no deadline on a cold
start (the app may wait for the debugger, DEBUG_WAIT=1). The debugger itself (debugpy and its hook) is put
into the sandbox by lambdafn.sandbox and started by the chain (lambdafn.runtime); docs/debugging.md."""

from __future__ import annotations

from dataclasses import replace

from devstack.config import Debugger
from devstack.stack.function import FunctionConfig

LIFTED_TIMEOUT_S = 24 * 3600
"""Stands for "no timeout" where a number is needed (RIE's AWS_LAMBDA_FUNCTION_TIMEOUT, deadlines)."""

START_DEADLINE_S = 60.0
"""How long a new environment may take to answer its first request when not debugging."""


def start_deadline(debugger: Debugger | None) -> float:
    """How long a cold start may take before it counts as failed: none while debugging."""
    return LIFTED_TIMEOUT_S if debugger else START_DEADLINE_S


def function_as_debugged(function: FunctionConfig) -> FunctionConfig:
    """The function with its Timeout lifted and no reserved concurrency: a second request waits for the one
    environment (as with sam local) rather than being throttled."""
    return replace(function, timeout=LIFTED_TIMEOUT_S, reserved_concurrency=None)


def banner(debugger: Debugger) -> str:
    waits = "  The app waits for a debugger before it starts (DEBUG_WAIT=1).\n" if debugger.wait else ""
    return f"""
  Debugger (debugpy) listens on 127.0.0.1:{debugger.port} (DEBUG_PORT): in VS Code, run "Attach to the local
  Lambda" (.vscode/launch.json); any DAP client attaches there. Breakpoints in backend/ hit through the API.
{waits}  While debugging: one execution environment; the function's Timeout and the gateway's 30 s integration
  timeout are lifted, so a paused request is never cut. A save under backend/ replaces the environment:
  the debugger's session ends and you attach again (docs/debugging.md).
"""
