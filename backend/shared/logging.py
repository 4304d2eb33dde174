"""One JSON object per log line on stdout, tagged with the current request id."""

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# Attributes every LogRecord has (and uvicorn's ANSI copy of the message); the rest came through `extra=`.
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            entry["request_id"] = request_id
        entry.update({key: value for key, value in vars(record).items() if key not in _STANDARD_ATTRS})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _StdoutHandler(logging.StreamHandler[TextIO]):
    """Resolves sys.stdout at each write, so a replaced stdout (test capture) still gets the lines."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


# HTTP clients that log whole requests and responses at DEBUG: botocore the items written (note text, emails),
# google-auth the Admin API calls and their headers, urllib3 and cachecontrol the URLs. Never below INFO.
_CHATTY_LIBRARIES = ("botocore", "boto3", "urllib3", "google", "cachecontrol")


def configure_logging(level: str) -> None:
    handler = _StdoutHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in _CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(max(root.level, logging.INFO))
    # uvicorn installs its own plain-text handlers before importing the app; route them through ours.
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers = []
        uvicorn_logger.propagate = True
    # Its access lines stay off, whatever uvicorn was told (run.sh says --no-access-log): they repeat the
    # app's own request line (api/middleware.py) and carry the query string, `?access_token=...` included.
    # uvicorn logs them only while this logger has a handler, its own or an ancestor's.
    access = logging.getLogger("uvicorn.access")
    access.handlers = []
    access.propagate = False
