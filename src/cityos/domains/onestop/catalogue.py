"""The service-item catalogue: loading it from the profile and finding items in it.

Items are checked at load against the profile's departments (with the file and line
named) and kept by code; items the profile drops are retired. Finding is by keywords (each
must appear in the item's names, life events or topics, Chinese or English), life event
(一件事), department, type and who may apply; the catalogue is a few hundred items, so a
``LIKE`` per keyword over one prepared text column is enough.
"""

from __future__ import annotations

from collections import Counter
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cityos.domains.onestop.definition import ItemDef, ItemsFile
from cityos.domains.onestop.models import ServiceItem
from cityos.kernel.errors import NotFound
from cityos.kernel.profiles import (
    ProfileContext,
    ProfileDocuments,
    ProfileIssue,
    sync_by_code,
)
from cityos.kernel.registry import ProfileSection


class ItemNotFound(NotFound):
    code = "service_item_not_found"


def _search_text(item: ItemDef) -> str:
    parts = [item.name.zh, item.name.en, item.type, *item.life_events, *item.topics]
    return " ".join(parts).lower()


def _check(documents: ProfileDocuments) -> list[ProfileIssue]:
    from cityos.foundation.identity.profile import walk

    departments = {
        entry.code
        for file in documents.earlier.get("departments", [])
        for entry, _ in walk(getattr(file.document, "departments", []))
    }
    issues: list[ProfileIssue] = []
    seen: dict[str, str] = {}
    for file in documents.files:
        assert isinstance(file.document, ItemsFile)
        for i, item in enumerate(file.document.items):
            if item.code in seen:
                issues.append(
                    ProfileIssue(
                        file.relative,
                        file.line_of(("items", i, "code")),
                        item.code,
                        f"item code {item.code!r} is already used in {seen[item.code]}",
                    )
                )
            seen.setdefault(item.code, file.relative)
            if departments and item.department not in departments:
                issues.append(
                    ProfileIssue(
                        file.relative,
                        file.line_of(("items", i, "department")),
                        item.code,
                        f"unknown department {item.department!r}",
                    )
                )
    return issues


def _load(session: Session, context: ProfileContext, documents: list[Any]) -> None:
    wanted: dict[str, dict[str, Any]] = {}
    for file, document in zip(context.files, documents, strict=True):
        assert isinstance(document, ItemsFile)
        pack = PurePosixPath(str(file)).parent.name
        for item in document.items:
            wanted[item.code] = {
                "name_zh": item.name.zh,
                "name_en": item.name.en,
                "type": item.type,
                "department_code": item.department,
                "applicant": list(item.applicant),
                "legal_days": item.legal_days,
                "promised_days": item.promised_days,
                "visits": item.visits,
                "life_events": list(item.life_events),
                "search_text": _search_text(item),
                "document": item.model_dump(mode="json", exclude_none=True),
                "demo": item.demo,
                "pack": pack,
            }
    sync_by_code(session, ServiceItem, wanted, context=context, counter="service_items")


items_section = ProfileSection(
    name="onestop-items",
    files=("packs/*/items.yaml",),
    schema=ItemsFile,
    load=_load,
    order=340,
    required=False,
    check=_check,
)


# --- finding ---------------------------------------------------------------------------------


def search(
    *,
    q: str | None = None,
    life_event: str | None = None,
    department: str | None = None,
    item_type: str | None = None,
    applicant: str | None = None,
) -> Select[ServiceItem]:
    """The active items matching every filter given, in code order."""
    stmt = select(ServiceItem).where(ServiceItem.active)
    for word in (q or "").lower().split():
        stmt = stmt.where(ServiceItem.search_text.contains(word, autoescape=True))
    if department is not None:
        stmt = stmt.where(ServiceItem.department_code == department)
    if item_type is not None:
        stmt = stmt.where(ServiceItem.type == item_type)
    if life_event is not None:
        # JSON lists differ between the databases; the search text holds the event too.
        stmt = stmt.where(ServiceItem.search_text.contains(life_event.lower(), autoescape=True))
    rows = stmt.order_by(ServiceItem.code)
    return rows


def matching(session: Session, **filters: str | None) -> list[ServiceItem]:
    """``search`` run, with the life-event and applicant filters made exact in Python."""
    found = list(session.scalars(search(**filters)))
    life_event, applicant = filters.get("life_event"), filters.get("applicant")
    if life_event is not None:
        found = [row for row in found if life_event in row.life_events]
    if applicant is not None:
        found = [row for row in found if applicant in row.applicant]
    return found


def get_item(session: Session, code: str) -> ServiceItem:
    row = session.get(ServiceItem, code)
    if row is None or not row.active:
        raise ItemNotFound(f"no service item {code!r}")
    return row


def life_events(session: Session) -> list[tuple[str, int]]:
    """Each life event (一件事) with how many active items it gathers, most first."""
    counts: Counter[str] = Counter()
    for (events,) in session.execute(select(ServiceItem.life_events).where(ServiceItem.active)):
        counts.update(events)
    return sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
