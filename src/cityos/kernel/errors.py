"""Domain errors and their RFC 9457 problem+json form.

Services raise ``DomainError`` subclasses with a stable ``code``; one handler turns them
into ``application/problem+json`` with a title in the caller's language.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cityos.kernel.i18n import message, negotiate

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("cityos.errors")


class DomainError(Exception):
    """A failure the caller can act on. ``code`` is stable; the UI translates it."""

    status = 400
    code = "bad_request"
    headers: dict[str, str] = {}  # noqa: RUF012 - read-only per class

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        errors: Sequence[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.errors = list(errors or [])
        self.extra = extra


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class PermissionDenied(DomainError):
    status = 403
    code = "permission_denied"


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"
    headers = {"WWW-Authenticate": 'Bearer realm="cityos"'}  # noqa: RUF012


class ValidationFailed(DomainError):
    status = 422
    code = "validation_failed"


class TooManyRequests(DomainError):
    """Asked again too soon; ``retry_after`` (seconds) says when to try again."""

    status = 429
    code = "too_many_requests"

    def __init__(self, detail: str, *, retry_after: int | None = None, **extra: Any) -> None:
        if retry_after is not None:
            extra["retry_after"] = retry_after
        super().__init__(detail, **extra)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


def problem(
    request: Request,
    *,
    status: int,
    code: str,
    detail: str | None = None,
    errors: Sequence[dict[str, Any]] = (),
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """A problem+json response; ``title`` follows the request's language."""
    locale = negotiate(request.headers.get("accept-language"))
    body: dict[str, Any] = {
        "type": f"https://cityos.dev/problems/{code}",
        "title": message(code, locale),
        "status": status,
        "code": code,
        "instance": request.url.path,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = list(errors)
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    fields = []
    for error in exc.errors():
        fields.append(
            {
                "field": ".".join(str(part) for part in error.get("loc", ())),
                "message": error.get("msg", ""),
                "type": error.get("type", ""),
            }
        )
    return fields


_STATUS_CODES = {404: "route_not_found", 405: "method_not_allowed"}


def install_error_handlers(app: FastAPI) -> None:
    """Make every error the app can raise answer as problem+json."""

    async def on_domain_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        response = problem(
            request,
            status=exc.status,
            code=exc.code,
            detail=exc.detail,
            errors=exc.errors,
            extra=exc.extra,
        )
        response.headers.update(exc.headers)
        return response

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = _field_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(request, status=422, code="validation_failed", detail=detail, errors=errors)

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else None
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no endpoint at {request.url.path}"
        response = problem(request, status=exc.status_code, code=code, detail=detail)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return problem(request, status=500, code="internal_error")

    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
