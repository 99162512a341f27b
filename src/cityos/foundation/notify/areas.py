"""Geo-fenced notices to residents (区域通知): people register the places they want notices
for (their home, areas they follow), and a notice for an area reaches everyone with a place
inside it, in the portal and, when asked, by SMS; each notice keeps how many it reached.

A place is a point on the region tree. The point of someone's home is personal data: it is
read here only to match notices and never returned to staff, who see counts.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from shapely import Geometry
from shapely.geometry import shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityos.foundation.audit import record
from cityos.foundation.geo import locate
from cityos.foundation.geo.models import Region
from cityos.foundation.identity.authz import Actor
from cityos.foundation.notify.models import (
    AreaNotice,
    AreaSubscription,
    Channel,
    Delivery,
    DeliveryStatus,
)
from cityos.foundation.notify.service import notify
from cityos.foundation.notify.templates import Template, register_template
from cityos.kernel.bus import emit
from cityos.kernel.errors import NotFound, ValidationFailed

AREA_NOTICE = Template(
    code="area-notice",
    title={"zh-CN": "{title}", "en": "{title}"},
    body={"zh-CN": "{body}", "en": "{body}"},
    sms=True,
)
register_template(AREA_NOTICE)
MAX_PLACES = 5
KINDS = ("home", "follow")


class AreaInvalid(ValidationFailed):
    code = "area_invalid"


class PlaceNotFound(NotFound):
    code = "place_not_found"


class NoticeNotFound(NotFound):
    code = "area_notice_not_found"


# --- people's places ---------------------------------------------------------------------


def places_of(session: Session, user_id: uuid.UUID) -> list[AreaSubscription]:
    return list(
        session.scalars(
            select(AreaSubscription)
            .where(AreaSubscription.user_id == user_id)
            .order_by(AreaSubscription.created_at)
        )
    )


def add_place(
    session: Session, *, actor: Actor, kind: str, label: str, lon: float, lat: float
) -> AreaSubscription:
    """Register a place of the actor's: inside the district, at most ``MAX_PLACES``."""
    if actor.user_id is None:
        raise ValidationFailed("only a signed-in person registers places")
    if kind not in KINDS:
        raise ValidationFailed(
            "kind is home or follow", errors=[{"field": "kind", "message": "home or follow"}]
        )
    chain = locate(session, lon=lon, lat=lat)
    if chain is None:
        raise ValidationFailed(
            "the place is outside the district",
            code="outside_district",
            errors=[{"field": "lon", "message": "outside the district"}],
        )
    if len(places_of(session, actor.user_id)) >= MAX_PLACES:
        raise ValidationFailed(
            f"at most {MAX_PLACES} places a person", code="too_many_places", errors=[]
        )
    place = AreaSubscription(
        user_id=actor.user_id,
        kind=kind,
        label=label.strip()[:50] or kind,
        lon=round(lon, 5),
        lat=round(lat, 5),
        region_code=chain.levels()[-1].code,
    )
    session.add(place)
    session.flush()
    return place


def remove_place(session: Session, *, actor: Actor, place_id: uuid.UUID) -> None:
    place = session.get(AreaSubscription, place_id)
    if place is None or place.user_id != actor.user_id:
        raise PlaceNotFound("no such place of yours")
    session.delete(place)
    session.flush()


# --- notices -------------------------------------------------------------------------------


def _area(session: Session, area: Mapping[str, Any] | None, region_code: str | None) -> Geometry:
    """The notice's area: a GeoJSON Polygon or MultiPolygon, or a region's boundary."""
    if area is None and region_code is None:
        raise AreaInvalid(
            "a notice needs an area or a region",
            errors=[{"field": "area", "message": "required", "type": "missing"}],
        )
    if area is None:
        region = session.get(Region, region_code)
        if region is None:
            raise AreaInvalid(
                f"no region {region_code!r}",
                errors=[{"field": "region", "message": "unknown region"}],
            )
        area = region.geometry
    try:
        found = shape(area)
    except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
        raise AreaInvalid(
            f"the area is not GeoJSON: {exc}", errors=[{"field": "area", "message": str(exc)}]
        ) from None
    if found.geom_type not in ("Polygon", "MultiPolygon") or found.is_empty:
        raise AreaInvalid(
            "the area must be a polygon", errors=[{"field": "area", "message": "a polygon"}]
        )
    if not found.is_valid or found.area <= 0:
        raise AreaInvalid(
            "the area is not a valid polygon (crossing edges or no surface)",
            errors=[{"field": "area", "message": "invalid polygon"}],
        )
    return found


def residents_in(session: Session, area: Geometry) -> list[uuid.UUID]:
    """The people with a registered place inside ``area``, once each."""
    min_lon, min_lat, max_lon, max_lat = area.bounds
    rows = session.execute(
        select(AreaSubscription.user_id, AreaSubscription.lon, AreaSubscription.lat)
        .where(
            AreaSubscription.lon.between(min_lon, max_lon),
            AreaSubscription.lat.between(min_lat, max_lat),
        )
        .order_by(AreaSubscription.user_id)
    )
    from shapely import Point

    found: list[uuid.UUID] = []
    for user_id, lon, lat in rows:
        if user_id not in found and area.covers(Point(lon, lat)):
            found.append(user_id)
    return found


def send_notice(
    session: Session,
    *,
    sender: Actor | None,
    title: Mapping[str, str],
    body: Mapping[str, str],
    area: Mapping[str, Any] | None = None,
    region_code: str | None = None,
    sms: bool = True,
    subject_type: str | None = None,
    subject_id: str | None = None,
) -> AreaNotice:
    """Tell everyone with a place in the area (a polygon, or a region's boundary); an empty
    or invalid area sends nothing (``area_invalid``)."""
    for field, text in (("title", title), ("body", body)):
        if not str(text.get("zh", "")).strip():
            raise ValidationFailed(
                f"the notice needs a {field}",
                code="step_incomplete",
                errors=[{"field": f"{field}.zh", "message": "required", "type": "missing"}],
            )
    geometry = _area(session, area, region_code)
    people = residents_in(session, geometry)
    notice = AreaNotice(
        title_zh=title["zh"].strip()[:100],
        title_en=(title.get("en") or title["zh"]).strip()[:200],
        body_zh=body["zh"].strip(),
        body_en=(body.get("en") or body["zh"]).strip(),
        area=geometry.__geo_interface__,
        region_code=region_code,
        sms=sms,
        sender=sender.username if sender else "system",
        subject_type=subject_type,
        subject_id=subject_id,
    )
    session.add(notice)
    session.flush()
    messages = notify(
        session,
        recipients=people,
        template=AREA_NOTICE.code,
        params={
            "title": {"zh-CN": notice.title_zh, "en": notice.title_en},
            "body": {"zh-CN": notice.body_zh, "en": notice.body_en},
        },
        channels=(Channel.PORTAL, Channel.SMS) if sms else (Channel.PORTAL,),
        subject_type="area_notice",
        subject_id=str(notice.id),
    )
    notice.recipients = len(messages)
    if messages:
        notice.sms_pending = int(
            session.scalar(
                select(func.count()).where(
                    Delivery.message_id.in_([m.id for m in messages]),
                    Delivery.channel == Channel.SMS,
                    Delivery.status == DeliveryStatus.PENDING,
                )
            )
            or 0
        )
    session.flush()
    record(
        session,
        actor=notice.sender,
        action="notify.area_notice",
        target_type="area_notice",
        target_id=str(notice.id),
        outcome="success",
        details={"recipients": notice.recipients, "sms": sms, "region": region_code},
    )
    emit(
        session,
        type="notify.area_notice",
        key=str(notice.id),
        payload={
            "notice_id": str(notice.id),
            "title": {"zh": notice.title_zh, "en": notice.title_en},
            "recipients": notice.recipients,
            "sms_pending": notice.sms_pending,
            "region_code": region_code,
            "subject_type": subject_type,
            "subject_id": subject_id,
        },
    )
    return notice


def delivery_counts(session: Session, notice: AreaNotice) -> dict[str, dict[str, int]]:
    """How the notice's messages went out, by channel and status (SMS sent later by jobs)."""
    from cityos.foundation.notify.models import Message

    counts: dict[str, dict[str, int]] = {}
    for channel, status, count in session.execute(
        select(Delivery.channel, Delivery.status, func.count())
        .join(Message, Message.id == Delivery.message_id)
        .where(Message.subject_type == "area_notice", Message.subject_id == str(notice.id))
        .group_by(Delivery.channel, Delivery.status)
    ):
        counts.setdefault(str(channel), {})[str(status)] = int(count)
    return counts
