"""``/api/v1/onestop/items``: the service-item catalogue, open to everyone (it is what a
government publishes about its services), searchable by keyword, life event, department,
type and applicant."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from cityos.domains.onestop import catalogue
from cityos.domains.onestop.models import ServiceItem
from cityos.foundation.identity.authz import public
from cityos.kernel.http import DbSession

router = APIRouter(prefix="/onestop", tags=["onestop 一网通办"], dependencies=[Depends(public())])

MESSAGES: dict[str, dict[str, str]] = {
    "service_item_not_found": {"zh-CN": "办事事项不存在", "en": "No such service item"},
}


class ItemSummary(BaseModel):
    code: str
    name: dict[str, str]
    type: str
    department: str
    applicant: list[str]
    legal_days: int
    promised_days: int
    visits: int
    life_events: list[str]
    demo: bool


class ItemOut(ItemSummary):
    definition: dict[str, Any]


class LifeEventOut(BaseModel):
    name: str
    items: int


def _summary(row: ServiceItem) -> dict[str, Any]:
    return {
        "code": row.code,
        "name": {"zh": row.name_zh, "en": row.name_en},
        "type": row.type,
        "department": row.department_code,
        "applicant": row.applicant,
        "legal_days": row.legal_days,
        "promised_days": row.promised_days,
        "visits": row.visits,
        "life_events": row.life_events,
        "demo": row.demo,
    }


@router.get("/items", response_model=list[ItemSummary])
def list_items(
    session: DbSession,
    q: Annotated[str | None, Query(max_length=100, description="keywords, all must match")] = None,
    life_event: Annotated[str | None, Query(max_length=50, examples=["开餐馆"])] = None,
    department: Annotated[str | None, Query(max_length=64)] = None,
    type: Annotated[str | None, Query(max_length=16, examples=["行政许可"])] = None,
    applicant: Annotated[str | None, Query(pattern="^(citizen|enterprise)$")] = None,
) -> list[ItemSummary]:
    """Service items matching every filter given, by code."""
    found = catalogue.matching(
        session,
        q=q,
        life_event=life_event,
        department=department,
        item_type=type,
        applicant=applicant,
    )
    return [ItemSummary(**_summary(row)) for row in found]


@router.get("/life-events", response_model=list[LifeEventOut])
def list_life_events(session: DbSession) -> list[LifeEventOut]:
    """The life events (一件事) the catalogue gathers items under, the fullest first."""
    return [LifeEventOut(name=name, items=n) for name, n in catalogue.life_events(session)]


@router.get("/items/{code}", response_model=ItemOut)
def get_item(code: str, session: DbSession) -> ItemOut:
    """One item in full: time limits, eligibility, materials (and what replaces each),
    fees, visits, legal basis and the application form's JSON Schema."""
    row = catalogue.get_item(session, code)
    return ItemOut(**_summary(row), definition=row.document)
