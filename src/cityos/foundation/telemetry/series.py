"""A Datastream's values over a time range, for charts: the raw observations, or the
rollups kept by ``ingest`` (1 min, 1 h, 1 day buckets: count, min, max and the mean as
total / count), so a year's chart reads 365 rows rather than 100,000 observations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityos.foundation.identity.authz import Actor, reach_clause
from cityos.foundation.telemetry.devices import within_reach
from cityos.foundation.telemetry.ingest import bucket_start
from cityos.foundation.telemetry.models import (
    Datastream,
    Observation,
    ObservedProperty,
    Rollup,
    Thing,
)
from cityos.kernel.errors import NotFound, ValidationFailed

Bucket = Literal["raw", "1m", "1h", "1d"]
BUCKET_SECONDS: Final = {"1m": 60, "1h": 3600, "1d": 86400}
MAX_POINTS: Final = 10_000
READ_PERMISSION: Final = "telemetry.read"


@dataclass(frozen=True)
class Point:
    """One point of a series: a raw value, or a bucket's aggregates (``time`` its start)."""

    time: datetime
    value: Any = None
    avg: float | None = None
    min: float | None = None
    max: float | None = None
    count: int | None = None


@dataclass(frozen=True)
class Series:
    datastream_id: int
    bucket: Bucket
    points: list[Point]
    # More points lie in the range than one answer carries: ask for a coarser bucket.
    truncated: bool


def visible_datastream(
    session: Session, *, actor: Actor, datastream_id: int, permission: str = READ_PERMISSION
) -> Datastream:
    """The Datastream if its device is within the actor's reach, else not found."""
    row = session.execute(
        select(Datastream, Thing)
        .join(Thing, Thing.id == Datastream.thing_id)
        .where(Datastream.id == datastream_id)
    ).first()
    if row is None or not within_reach(actor, row[1], permission):
        raise NotFound(
            f"no Datastream {datastream_id} within your reach", code="datastream_not_found"
        )
    return row[0]


def series(
    session: Session,
    *,
    datastream: Datastream,
    start: datetime,
    end: datetime,
    bucket: Bucket,
) -> Series:
    """Points of ``datastream`` from ``start`` (inclusive) to ``end`` (exclusive), oldest
    first, at most ``MAX_POINTS``. A bucket is included when it starts in the range, or
    holds ``start``."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValidationFailed("from and to need a time zone", code="naive_time")
    if end <= start:
        raise ValidationFailed("to must be after from", code="empty_range")
    if bucket == "raw":
        rows = session.execute(
            select(Observation.phenomenon_time, Observation.result_number, Observation.result_json)
            .where(
                Observation.datastream_id == datastream.id,
                Observation.phenomenon_time >= start,
                Observation.phenomenon_time < end,
            )
            .order_by(Observation.phenomenon_time)
            .limit(MAX_POINTS + 1)
        ).all()
        points = [
            Point(time=t, value=number if number is not None else other)
            for t, number, other in rows[:MAX_POINTS]
        ]
        return Series(datastream.id, bucket, points, truncated=len(rows) > MAX_POINTS)
    seconds = BUCKET_SECONDS[bucket]
    buckets = session.scalars(
        select(Rollup)
        .where(
            Rollup.datastream_id == datastream.id,
            Rollup.bucket_seconds == seconds,
            Rollup.bucket_start >= bucket_start(start, seconds),
            Rollup.bucket_start < end,
        )
        .order_by(Rollup.bucket_start)
        .limit(MAX_POINTS + 1)
    ).all()
    points = [
        Point(
            time=r.bucket_start,
            avg=r.total / r.count if r.count else None,
            min=r.minimum,
            max=r.maximum,
            count=r.count,
        )
        for r in buckets[:MAX_POINTS]
    ]
    return Series(datastream.id, bucket, points, truncated=len(buckets) > MAX_POINTS)


@dataclass(frozen=True)
class RegionPoint:
    """One bucket of a property over a region: the aggregates across its devices."""

    time: datetime
    avg: float | None
    min: float
    max: float
    count: int
    devices: int


def region_series(
    session: Session,
    *,
    actor: Actor,
    region: str,
    property_code: str,
    start: datetime,
    end: datetime,
    bucket: Bucket,
) -> tuple[list[RegionPoint], bool]:
    """A property over every device within ``region`` (a code prefix) and the actor's
    reach, from the rollups: per bucket the mean of all readings, the extremes, the count
    and how many devices reported. Returns the points and whether they were truncated."""
    if bucket == "raw":
        raise ValidationFailed(
            "a region's series is made of rollups: bucket 1m, 1h or 1d", code="bucket_needed"
        )
    if end <= start:
        raise ValidationFailed("to must be after from", code="empty_range")
    seconds = BUCKET_SECONDS[bucket]
    stmt = (
        select(
            Rollup.bucket_start,
            func.sum(Rollup.total),
            func.sum(Rollup.count),
            func.min(Rollup.minimum),
            func.max(Rollup.maximum),
            func.count(func.distinct(Rollup.datastream_id)),
        )
        .join(Datastream, Datastream.id == Rollup.datastream_id)
        .join(ObservedProperty, ObservedProperty.id == Datastream.observed_property_id)
        .join(Thing, Thing.id == Datastream.thing_id)
        .where(
            ObservedProperty.code == property_code,
            Thing.region_code.startswith(region, autoescape=True),
            Rollup.bucket_seconds == seconds,
            Rollup.bucket_start >= bucket_start(start, seconds),
            Rollup.bucket_start < end,
        )
        .group_by(Rollup.bucket_start)
        .order_by(Rollup.bucket_start)
        .limit(MAX_POINTS + 1)
    )
    reach = reach_clause(actor, region_column=Thing.region_code, permission=READ_PERMISSION)
    if reach is not None:
        stmt = stmt.where(reach)
    rows = session.execute(stmt).all()
    points = [
        RegionPoint(
            time=time,
            avg=float(total) / int(count) if count else None,
            min=float(low),
            max=float(high),
            count=int(count),
            devices=int(devices),
        )
        for time, total, count, low, high, devices in rows[:MAX_POINTS]
    ]
    return points, len(rows) > MAX_POINTS


__all__ = [
    "BUCKET_SECONDS",
    "Bucket",
    "Point",
    "RegionPoint",
    "Series",
    "region_series",
    "series",
    "visible_datastream",
]
