"""Health, readiness, metrics and the public metadata of the platform."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from cityos import __version__
from cityos.kernel import migrate
from cityos.kernel.access import public
from cityos.kernel.calendar import coverage_warnings
from cityos.kernel.http import DbSession, RuntimeDep
from cityos.kernel.i18n import negotiate
from cityos.kernel.system.models import District

log = logging.getLogger("cityos.system")

# Probes live outside /api and stay undeclared: they are for the orchestrator, not callers.
probes = APIRouter(tags=["system"])
api = APIRouter(prefix="/meta", tags=["system"], dependencies=[Depends(public())])


def _locale(request: Request) -> str:
    return negotiate(request.headers.get("accept-language"))


@probes.get("/healthz", summary="Process is up")
def healthz() -> dict[str, str]:
    """Liveness: answers while the process runs; touches nothing else."""
    return {"status": "ok"}


@probes.get("/readyz", summary="Ready to serve: database reachable, migrations current")
def readyz(runtime: RuntimeDep, request: Request) -> JSONResponse:
    """Readiness, with the working-day calendar's warnings for years it does not know."""
    checks: dict[str, Any] = {}
    warnings: list[str] = []
    try:
        with runtime.unit_of_work() as session:
            connection = session.connection()
            connection.execute(text("SELECT 1"))
            checks["database"] = "ok"
            current = migrate.current(connection)
            expected = migrate.heads(runtime.engine, runtime.registry)
            checks["migrations"] = "current" if current == expected else "pending"
            if current == expected:
                warnings = coverage_warnings(session, locale=_locale(request))
    except SQLAlchemyError as exc:
        log.warning("readiness: database unreachable: %s", exc)
        checks["database"] = f"unreachable: {type(exc).__name__}"
    ready = checks.get("migrations") == "current"
    body = {"status": "ready" if ready else "not ready", "checks": checks, "warnings": warnings}
    return JSONResponse(body, status_code=200 if ready else 503)


@probes.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics() -> Response:
    """Prometheus text exposition of the process's counters and histograms."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@api.get("", summary="Platform and district metadata (public)")
def meta(session: DbSession, runtime: RuntimeDep, request: Request) -> dict[str, Any]:
    """What every page shows before sign-in: district name, version, mode, and calendar
    warnings in the caller's language (``Accept-Language``; zh-CN by default)."""
    district = session.scalars(select(District).limit(1)).first()
    warnings = coverage_warnings(session, locale=_locale(request))
    return {
        "name": {"zh": district.name_zh, "en": district.name_en} if district else None,
        "code": district.code if district else None,
        "version": __version__,
        "mode": runtime.settings.mode.value,
        "profile": district.profile if district else None,
        "locales": ["zh-CN", "en"],
        "calendar_warnings": warnings,
    }
