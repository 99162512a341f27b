"""The auditors' API: page through the trail, export it to Excel, verify the chain.

Reading the trail is an auditor's job (等保 separates it from administration); an export
and a verification are themselves recorded, so the trail shows who took a copy of it.
"""

from __future__ import annotations

import tempfile
import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from pydantic import AwareDatetime, BaseModel
from starlette.background import BackgroundTask

from cityos.foundation.audit.models import AuditRecord
from cityos.foundation.audit.service import export_xlsx, query, record, seal_all, verify
from cityos.foundation.identity.authz import Actor, require
from cityos.kernel.http import DbSession
from cityos.kernel.pagination import PageOut, PageQuery

router = APIRouter(prefix="/audit", tags=["audit 审计"])

PERMISSIONS: dict[str, dict[str, str]] = {
    "audit.read": {"zh": "查阅审计日志", "en": "Read the audit trail"},
    "audit.export": {"zh": "导出审计日志", "en": "Export the audit trail"},
    "audit.verify": {"zh": "校验审计日志完整性", "en": "Verify the audit trail"},
}


class RecordOut(BaseModel):
    id: uuid.UUID
    # Empty while the record waits to be sealed into the chain (seconds, normally).
    seq: int | None
    occurred_at: datetime
    actor: str | None
    action: str
    target_type: str
    target_id: str | None
    outcome: str
    details: dict[str, Any]
    ip: str | None
    request_id: str | None
    purpose: str | None

    @classmethod
    def of(cls, row: AuditRecord) -> RecordOut:
        return cls(
            id=row.id,
            seq=row.seq,
            occurred_at=row.occurred_at,
            actor=row.actor,
            action=row.action,
            target_type=row.target_type,
            target_id=row.target_id,
            outcome=row.outcome,
            details=dict(row.details),
            ip=row.ip,
            request_id=row.request_id,
            purpose=row.purpose,
        )


class FaultOut(BaseModel):
    kind: str
    seq: int
    detail: str


class VerifyOut(BaseModel):
    ok: bool
    count: int
    head_seq: int | None
    head_hash: str | None
    fault: FaultOut | None
    pending: int


class Filters:
    """The filters shared by the list and the export (``action`` ending in "." matches a
    whole family, e.g. ``auth.``)."""

    def __init__(
        self,
        actor: Annotated[str | None, Query(max_length=200)] = None,
        action: Annotated[str | None, Query(max_length=100)] = None,
        target_type: Annotated[str | None, Query(max_length=100)] = None,
        target_id: Annotated[str | None, Query(max_length=200)] = None,
        since: Annotated[AwareDatetime | None, Query(description="inclusive, with zone")] = None,
        until: Annotated[AwareDatetime | None, Query(description="exclusive, with zone")] = None,
    ) -> None:
        self.actor, self.action = actor, action
        self.target_type, self.target_id = target_type, target_id
        self.since, self.until = since, until

    def for_audit(self) -> dict[str, str]:
        """The filters as the export's audit record keeps them."""
        texts = {
            "actor": self.actor,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }
        return {name: value for name, value in texts.items() if value}


FilterQuery = Annotated[Filters, Depends()]


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


@router.get("/records", response_model=PageOut[RecordOut])
def list_records(
    session: DbSession,
    filters: FilterQuery,
    page: PageQuery,
    actor: Annotated[Actor, Depends(require("audit.read"))],
) -> PageOut[RecordOut]:
    """Records newest first, filtered, a page at a time."""
    found = query(
        session,
        actor=filters.actor,
        action=filters.action,
        target_type=filters.target_type,
        target_id=filters.target_id,
        since=filters.since,
        until=filters.until,
        cursor=page.cursor,
        limit=page.limit,
    )
    return PageOut(items=[RecordOut.of(r) for r in found.items], next_cursor=found.next_cursor)


@router.get(
    "/records.xlsx",
    response_class=FileResponse,
    responses={200: {"content": {"application/vnd.ms-excel": {}}}},
)
def export_records(
    request: Request,
    session: DbSession,
    filters: FilterQuery,
    actor: Annotated[Actor, Depends(require("audit.export"))],
) -> FileResponse:
    """The filtered records as an Excel workbook (Chinese and English headers)."""
    folder = Path(tempfile.mkdtemp(prefix="cityos-audit-"))
    path = folder / "audit.xlsx"
    count = export_xlsx(
        session,
        path,
        actor=filters.actor,
        action=filters.action,
        target_type=filters.target_type,
        target_id=filters.target_id,
        since=filters.since,
        until=filters.until,
    )
    record(
        session,
        actor=actor.username,
        action="audit.export",
        target_type="audit_trail",
        target_id=None,
        outcome="success",
        details={"records": count, "filters": filters.for_audit()},
        ip=request.client.host if request.client else None,
        request_id=_request_id(request),
    )
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return FileResponse(
        path,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename=f"cityos-audit-{stamp}.xlsx",
        background=BackgroundTask(_remove, folder),
    )


def _remove(folder: Path) -> None:
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()


@router.post("/verify", response_model=VerifyOut)
def verify_chain(
    request: Request,
    session: DbSession,
    actor: Annotated[Actor, Depends(require("audit.verify"))],
) -> VerifyOut:
    """Seal what is pending, then walk the whole chain and name its first fault (changed,
    deleted, inserted, moved)."""
    seal_all(session)
    report = verify(session)
    record(
        session,
        actor=actor.username,
        action="audit.verify",
        target_type="audit_trail",
        target_id=None,
        outcome="success" if report.ok else "failure",
        details={"records": report.count, "fault_seq": report.fault.seq if report.fault else None},
        ip=request.client.host if request.client else None,
        request_id=_request_id(request),
    )
    fault = report.fault
    return VerifyOut(
        ok=report.ok,
        count=report.count,
        head_seq=report.head_seq,
        head_hash=report.head_hash,
        fault=FaultOut(kind=str(fault.kind), seq=fault.seq, detail=fault.detail) if fault else None,
        pending=report.pending,
    )
