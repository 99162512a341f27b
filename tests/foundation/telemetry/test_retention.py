"""Telemetry retention: old raw observations and minute rollups go, recent data and the
hourly and daily rollups stay; on PostgreSQL a month wholly past the limit is dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from cityos.foundation.telemetry.ingest import Reading, ingest
from cityos.foundation.telemetry.models import Observation, Rollup
from cityos.foundation.telemetry.retention import purge
from cityos.foundation.telemetry.rollups import fold_all
from cityos.kernel.db import is_postgresql
from tests.factories.telemetry import gauge

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_old_data_goes_and_recent_data_stays(session: Session) -> None:
    g = gauge(session)
    old = [NOW - timedelta(days=days) for days in (200, 120, 100)]
    recent = [NOW - timedelta(days=days) for days in (20, 1)]
    ingest(
        session,
        [
            Reading(phenomenon_time=t, result=1.0, datastream_id=g.datastream.id)
            for t in old + recent
        ],
    )
    fold_all(session)

    purge(session, now=NOW, raw_days=90)

    kept = session.scalars(
        select(Observation.phenomenon_time).where(Observation.datastream_id == g.datastream.id)
    ).all()
    assert sorted(kept) == sorted(recent)
    minutes = session.scalars(
        select(Rollup.bucket_start).where(
            Rollup.datastream_id == g.datastream.id, Rollup.bucket_seconds == 60
        )
    ).all()
    # Minute rollups keep 35 days; hours and days keep everything.
    assert len(minutes) == 2
    hours = session.scalar(
        select(func.count()).where(
            Rollup.datastream_id == g.datastream.id, Rollup.bucket_seconds == 3600
        )
    )
    assert hours == 5


def test_a_month_wholly_past_the_limit_loses_its_partition(session: Session) -> None:
    g = gauge(session)
    # Within the last year, so the month gets a partition of its own on PostgreSQL.
    month_ago = NOW - timedelta(days=150)
    ingest(session, [Reading(phenomenon_time=month_ago, result=2.0, datastream_id=g.datastream.id)])
    purged = purge(session, now=NOW, raw_days=90)
    if is_postgresql(session):
        name = f"iot_observation_p{month_ago:%Y%m}"
        assert name in purged.partitions_dropped
        assert session.scalar(text(f"SELECT to_regclass('{name}')")) is None
    else:
        assert purged.observations_deleted == 1
