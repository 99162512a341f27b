"""HTTP plumbing shared by every router: the request's unit of work, request ids, metrics."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request, Response
from prometheus_client import Counter, Histogram
from sqlalchemy.orm import Session

from cityos.kernel.logs import request_id_var
from cityos.kernel.runtime import Runtime

access_log = logging.getLogger("cityos.access")

REQUESTS = Counter(
    "cityos_http_requests_total", "HTTP requests handled", ["method", "route", "status"]
)
LATENCY = Histogram(
    "cityos_http_request_duration_seconds", "HTTP request latency", ["method", "route"]
)


def get_runtime(request: Request) -> Runtime:
    """The process runtime the app was built with."""
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work: committed before the response is sent, or rolled back."""
    with get_runtime(request).unit_of_work() as session:
        yield session


# scope="function": the commit happens before the response leaves, so a failed commit
# is reported to the caller instead of a success that did not stick.
DbSession = Annotated[Session, Depends(get_session, scope="function")]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def request_context(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Give each request an id (kept from ``X-Request-ID`` if sane), log it, time it."""
    incoming = request.headers.get("x-request-id", "")
    request_id = (
        incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
    )
    request.state.request_id = request_id
    token = request_id_var.set(request_id)
    started = time.perf_counter()
    status = 500
    try:
        response = await call_next(request)
        status = response.status_code
        response.headers["X-Request-ID"] = request_id
        return response
    finally:
        elapsed = time.perf_counter() - started
        route = request.scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        REQUESTS.labels(request.method, template, str(status)).inc()
        LATENCY.labels(request.method, template).observe(elapsed)
        access_log.info(
            "%s %s %s",
            request.method,
            request.url.path,
            status,
            extra={
                "method": request.method,
                "path": request.url.path,
                "status": status,
                "duration_ms": round(elapsed * 1000, 1),
            },
        )
        request_id_var.reset(token)
