"""The debugger hook of `make debug`, never in the zip: the sandbox installs it beside debugpy, and only a
debugging execution environment has that directory on its PYTHONPATH. Python imports `sitecustomize` at
start-up, so the app's interpreter (run.sh's `python3 -m uvicorn`) listens for a debugger before it imports
the app. Standard library and debugpy only: it runs inside the function's interpreter."""

import os
import sys

# Popped: debugpy's adapter is a child interpreter with this environment, and must not listen too.
_listen = os.environ.pop("DEVSTACK_DEBUG_LISTEN", "")
_wait = os.environ.pop("DEVSTACK_DEBUG_WAIT", "") == "1"

if _listen:
    # pydevd warns that frozen stdlib modules may miss breakpoints: true of the standard library only, and
    # printed for every start; the app's code is never frozen.
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    import debugpy

    _host, _, _port = _listen.rpartition(":")
    try:
        debugpy.listen((_host, int(_port)))
    except Exception as error:  # the app still serves: a request must not fail for want of a debugger
        print(
            f"debugger: cannot listen on {_listen} (DEBUG_PORT): {error}; no debugger here", file=sys.stderr
        )
    else:
        print(f"debugger: debugpy listens on {_listen}", file=sys.stderr, flush=True)
        if _wait:
            print("debugger: waiting for a debugger to attach (DEBUG_WAIT=1)", file=sys.stderr, flush=True)
            debugpy.wait_for_client()
