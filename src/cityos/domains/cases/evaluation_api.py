"""``/api/v1/cases/evaluation``: the performance ranking as JSON, and as an Excel workbook."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from cityos.domains.cases.evaluation import By, Evaluation, Period, evaluate, export_xlsx
from cityos.foundation.identity.authz import Actor, require
from cityos.kernel.clock import local, utcnow
from cityos.kernel.errors import ValidationFailed
from cityos.kernel.http import DbSession

router = APIRouter(prefix="/cases", tags=["cases 城市事件"])

PERMISSIONS: dict[str, dict[str, str]] = {
    "cases.evaluate": {"zh": "查看考核评价", "en": "Read performance evaluation"},
}

PeriodQuery = Annotated[
    str | None,
    Query(
        max_length=40,
        description="2026, 2026-Q4, 2026-11, 2026-11-03 or 2026-11-01..2026-11-15 "
        "(Asia/Shanghai days); the current month if left out",
    ),
]
SyntheticQuery = Annotated[
    bool, Query(description="count the generated demo history (marked in the answer)")
]


def _period(text: str | None) -> Period:
    if text is None:
        return Period.parse(local(utcnow()).strftime("%Y-%m"))
    try:
        return Period.parse(text)
    except ValueError as exc:
        error = {"field": "query.period", "message": str(exc), "type": "value_error"}
        raise ValidationFailed(f"query.period: {exc}", errors=[error]) from exc


@router.get("/evaluation", response_model=Evaluation)
def read_evaluation(
    session: DbSession,
    actor: Annotated[Actor, Depends(require("cases.evaluate"))],
    period: PeriodQuery = None,
    by: By = By.DEPARTMENT,
    include_synthetic: SyntheticQuery = True,
) -> Evaluation:
    """Every department (subdistrict, community, category) ranked by composite score."""
    return evaluate(
        session, period=_period(period), by=by, include_synthetic=include_synthetic, actor=actor
    )


@router.get(
    "/evaluation.xlsx",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}
    },
)
def export_evaluation(
    session: DbSession,
    actor: Annotated[Actor, Depends(require("cases.evaluate"))],
    period: PeriodQuery = None,
    by: By = By.DEPARTMENT,
    include_synthetic: SyntheticQuery = True,
) -> FileResponse:
    """The same ranking as an Excel workbook (Chinese and English headers)."""
    evaluation = evaluate(
        session, period=_period(period), by=by, include_synthetic=include_synthetic, actor=actor
    )
    folder = Path(tempfile.mkdtemp(prefix="cityos-evaluation-"))
    path = folder / "evaluation.xlsx"
    export_xlsx(evaluation, path)
    return FileResponse(
        path,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename=f"cityos-evaluation-{by}-{evaluation.period.text.replace('..', '_')}.xlsx",
        background=BackgroundTask(_remove, folder),
    )


def _remove(folder: Path) -> None:
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()
