"""``/api/v1/notify/places`` (one's own places for area notices) and
``/api/v1/notify/area-notices`` (sending and counting geo-fenced notices)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from cityos.foundation.identity.authz import Actor, require
from cityos.foundation.notify import areas
from cityos.foundation.notify.models import AreaNotice
from cityos.kernel.http import DbSession
from cityos.kernel.pagination import PageOut, PageQuery, paginate

router = APIRouter(prefix="/notify", tags=["notify 消息"])

PERMISSIONS: dict[str, dict[str, str]] = {
    "notify.areas.send": {"zh": "发送区域通知", "en": "Send area notices to residents"},
}
MESSAGES: dict[str, dict[str, str]] = {
    "area_invalid": {"zh-CN": "通知区域无效", "en": "The notice area is not valid"},
    "outside_district": {
        "zh-CN": "该位置不在本区范围内",
        "en": "The place is outside the district",
    },
    "too_many_places": {"zh-CN": "关注的地点已达上限", "en": "Too many places"},
    "place_not_found": {"zh-CN": "地点不存在", "en": "No such place"},
    "area_notice_not_found": {"zh-CN": "区域通知不存在", "en": "No such area notice"},
}
Reader = Annotated[Actor, Depends(require("notify.read"))]
Sender = Annotated[Actor, Depends(require("notify.areas.send"))]


class PlaceIn(BaseModel):
    kind: str = Field(pattern=r"^(home|follow)$", description="home: where you live")
    label: str = Field(default="", max_length=50, examples=["家", "公司"])
    lon: float = Field(ge=73, le=136)
    lat: float = Field(ge=3, le=54)


class PlaceOut(BaseModel):
    id: uuid.UUID
    kind: str
    label: str
    lon: float
    lat: float
    region_code: str | None
    created_at: datetime


class Localized(BaseModel):
    zh: str = Field(max_length=2000)
    en: str | None = Field(default=None, max_length=4000)


class NoticeIn(BaseModel):
    title: Localized
    body: Localized
    area: dict[str, Any] | None = Field(default=None, description="a GeoJSON Polygon")
    region: str | None = Field(default=None, pattern=r"^\d{6}(\d{3}){0,3}$")
    sms: bool = True


class NoticeOut(BaseModel):
    id: uuid.UUID
    title: dict[str, str]
    body: dict[str, str]
    area: dict[str, Any]
    region_code: str | None
    sms: bool
    sender: str
    subject_type: str | None
    subject_id: str | None
    recipients: int
    sms_pending: int
    deliveries: dict[str, dict[str, int]] | None = None
    created_at: datetime


def _notice_out(
    notice: AreaNotice, deliveries: dict[str, dict[str, int]] | None = None
) -> NoticeOut:
    return NoticeOut(
        id=notice.id,
        title={"zh": notice.title_zh, "en": notice.title_en},
        body={"zh": notice.body_zh, "en": notice.body_en},
        area=notice.area,
        region_code=notice.region_code,
        sms=notice.sms,
        sender=notice.sender,
        subject_type=notice.subject_type,
        subject_id=notice.subject_id,
        recipients=notice.recipients,
        sms_pending=notice.sms_pending,
        deliveries=deliveries,
        created_at=notice.created_at,
    )


@router.get("/places", response_model=list[PlaceOut])
def list_places(session: DbSession, actor: Reader) -> list[PlaceOut]:
    """Your places for area notices (home, areas you follow)."""
    assert actor.user_id is not None
    return [
        PlaceOut.model_validate(p, from_attributes=True)
        for p in areas.places_of(session, actor.user_id)
    ]


@router.post("/places", response_model=PlaceOut, status_code=status.HTTP_201_CREATED)
def add_place(body: PlaceIn, session: DbSession, actor: Reader) -> PlaceOut:
    """Register a place (inside the district) to receive its area notices."""
    place = areas.add_place(
        session, actor=actor, kind=body.kind, label=body.label, lon=body.lon, lat=body.lat
    )
    return PlaceOut.model_validate(place, from_attributes=True)


@router.delete("/places/{place_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_place(place_id: uuid.UUID, session: DbSession, actor: Reader) -> None:
    """Stop area notices for a place of yours."""
    areas.remove_place(session, actor=actor, place_id=place_id)


@router.post("/area-notices", response_model=NoticeOut, status_code=status.HTTP_201_CREATED)
def send_notice(body: NoticeIn, session: DbSession, actor: Sender) -> NoticeOut:
    """Send a notice to everyone with a place in the area (a drawn polygon or a region);
    returns how many it reached. An empty or invalid area: 422, nothing sent."""
    notice = areas.send_notice(
        session,
        sender=actor,
        title=body.title.model_dump(exclude_none=True),
        body=body.body.model_dump(exclude_none=True),
        area=body.area,
        region_code=body.region,
        sms=body.sms,
    )
    return _notice_out(notice, areas.delivery_counts(session, notice))


@router.get("/area-notices", response_model=PageOut[NoticeOut])
def list_notices(session: DbSession, actor: Sender, page: PageQuery) -> PageOut[NoticeOut]:
    """Area notices sent, newest first, with how many each reached."""
    found = paginate(
        session,
        select(AreaNotice),
        order_by=[AreaNotice.created_at.desc(), AreaNotice.id.desc()],
        cursor=page.cursor,
        limit=page.limit,
    )
    return PageOut(items=[_notice_out(n) for n in found.items], next_cursor=found.next_cursor)


@router.get("/area-notices/{notice_id}", response_model=NoticeOut)
def get_notice(notice_id: uuid.UUID, session: DbSession, actor: Sender) -> NoticeOut:
    """One notice with its deliveries by channel and status."""
    notice = session.get(AreaNotice, notice_id)
    if notice is None:
        raise areas.NoticeNotFound("no such area notice")
    return _notice_out(notice, areas.delivery_counts(session, notice))
