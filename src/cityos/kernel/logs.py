"""JSON logs carrying the request id of the request that wrote them."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from contextvars import ContextVar
from datetime import UTC, datetime

from pythonjsonlogger.json import JsonFormatter

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record logged while a request is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        # uvicorn adds an ANSI-coloured copy of its message; a log store wants only one.
        record.__dict__.pop("color_message", None)
        return True


class UtcJsonFormatter(JsonFormatter):
    """JSON lines with ISO 8601 UTC timestamps (``2026-11-25T10:00:00.123Z``)."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        return stamp.replace("+00:00", "Z")


def configure_logging(
    *, level: str = "INFO", json: bool = True, filters: Sequence[logging.Filter] = ()
) -> None:
    """Send our logs and uvicorn's to stderr, as JSON lines unless told otherwise.

    ``filters`` run on every record first: the CLI passes the personal-data redactor, so
    nothing about a person reaches a log in plain text.
    """
    handler = logging.StreamHandler(sys.stderr)
    for extra in filters:
        handler.addFilter(extra)
    handler.addFilter(RequestIdFilter())
    if json:
        handler.setFormatter(
            UtcJsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
