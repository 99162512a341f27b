"""``/api/v1/ioc/reports/daily`` and ``/api/v1/plans/runs/{id}/report``: the daily
situation report and a plan's summary, as PDF or Excel, counted when asked."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import select

from cityos.foundation.audit import record
from cityos.foundation.identity.authz import Actor, reach_clause, require
from cityos.kernel.clock import SHANGHAI, utcnow
from cityos.kernel.errors import NotFound, PermissionDenied
from cityos.kernel.files import open as open_file
from cityos.kernel.files import storage_from_settings
from cityos.kernel.http import DbSession
from cityos.platforms.ioc import reports
from cityos.platforms.ioc.models import StoredReport
from cityos.platforms.ioc.plans import service as plans
from cityos.platforms.ioc.plans.models import PlanRun

router = APIRouter(tags=["reports 报告"])
REPORTS = reports.REPORTS_PERMISSION
PERMISSIONS: dict[str, dict[str, str]] = {
    REPORTS: {"zh": "查看全区城市运行日报", "en": "Read the district's daily situation report"},
}
Format = Literal["pdf", "xlsx"]
MESSAGES: dict[str, dict[str, str]] = {
    "report_not_found": {"zh-CN": "报告不存在", "en": "No such report"},
    "pdf_font_missing": {
        "zh-CN": "服务器缺少中文字体，暂无法生成PDF，请下载Excel版",
        "en": "The server lacks a CJK font for PDFs; take the Excel version",
    },
}
_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _file(report: reports.Report, form: Format, name: str) -> Response:
    body = reports.to_pdf(report) if form == "pdf" else reports.to_xlsx(report)
    return Response(
        body,
        media_type=_TYPES[form],
        headers={"Content-Disposition": f'attachment; filename="{name}.{form}"'},
    )


@router.get("/ioc/reports/daily", response_class=Response)
def daily_report(
    session: DbSession,
    actor: Annotated[Actor, Depends(require(REPORTS))],
    day: Annotated[date | None, Query(description="a Shanghai date; yesterday by default")] = None,
    form: Annotated[Format, Query(alias="format")] = "pdf",
) -> Response:
    """The district's daily situation report (城市运行日报) for ``day``: district-wide, for
    those whose ``ioc.reports.read`` reaches the whole district."""
    reach = reach_clause(actor, region_column=PlanRun.region_code, permission=REPORTS)
    if reach is not None:
        raise PermissionDenied("the daily report is district-wide", code="region_out_of_reach")
    wanted = day or utcnow().astimezone(SHANGHAI).date() - timedelta(days=1)
    report = reports.daily(session, day=wanted)
    record(
        session,
        actor=actor.username,
        action="ioc.report_daily",
        target_type="report",
        target_id=wanted.isoformat(),
        outcome="success",
        details={"format": form},
    )
    return _file(report, form, f"luohu-daily-{wanted.isoformat()}")


@router.get("/plans/runs/{run_id}/report", response_class=Response)
def plan_report(
    run_id: uuid.UUID,
    session: DbSession,
    actor: Annotated[Actor, Depends(require("plans.read"))],
    form: Annotated[Format, Query(alias="format")] = "pdf",
) -> Response:
    """A plan run's summary (预案处置总结) from its records."""
    reach = reach_clause(actor, region_column=PlanRun.region_code, permission="plans.read")
    stmt = select(PlanRun.id).where(PlanRun.id == run_id)
    if session.scalar(stmt if reach is None else stmt.where(reach)) is None:
        raise plans.RunNotFound("no such plan run within your reach")
    return _file(reports.plan_summary(session, run_id=run_id), form, f"plan-run-{run_id}")


class StoredOut(BaseModel):
    id: uuid.UUID
    kind: str
    day: date
    title: str
    formats: list[str]
    created_at: datetime


@router.get("/ioc/reports", response_model=list[StoredOut])
def stored_reports(
    session: DbSession,
    actor: Annotated[Actor, Depends(require(REPORTS))],
    limit: Annotated[int, Query(ge=1, le=366)] = 31,
) -> list[StoredOut]:
    """The reports the schedule made (each morning's daily report), newest first."""
    rows = session.scalars(select(StoredReport).order_by(StoredReport.day.desc()).limit(limit))
    return [
        StoredOut(
            id=row.id,
            kind=row.kind,
            day=row.day,
            title=row.title,
            formats=["xlsx", "pdf"] if row.pdf_sha256 else ["xlsx"],
            created_at=row.created_at,
        )
        for row in rows
    ]


@router.get("/ioc/reports/{report_id}/file", response_class=Response)
def stored_file(
    report_id: uuid.UUID,
    request: Request,
    session: DbSession,
    actor: Annotated[Actor, Depends(require(REPORTS))],
    form: Annotated[Format, Query(alias="format")] = "pdf",
) -> Response:
    """A stored report's file as the schedule made it."""
    row = session.get(StoredReport, report_id)
    sha256 = None if row is None else (row.pdf_sha256 if form == "pdf" else row.xlsx_sha256)
    if row is None or sha256 is None:
        raise NotFound("no such stored report in that format", code="report_not_found")
    storage = storage_from_settings(request.app.state.runtime.settings)
    with open_file(storage, sha256) as stream:
        body = stream.read()
    return Response(
        body,
        media_type=_TYPES[form],
        headers={
            "Content-Disposition": f'attachment; filename="luohu-{row.kind}-{row.day}.{form}"'
        },
    )
