"""Observations in: stored once however often they are sent, bad ones refused with a
reason while the rest of the batch is kept, latest values and rollups kept up to date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityos.foundation.telemetry.ingest import (
    TRUTH_OBSERVATION,
    Reading,
    ingest,
    observation_ids,
)
from cityos.foundation.telemetry.models import Observation, Rollup, RollupDelta
from cityos.foundation.telemetry.rollups import fold, fold_all
from cityos.kernel.clock import utcnow
from tests.factories.telemetry import gauge

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def _count(session: Session, datastream_id: int) -> int:
    return int(
        session.scalar(select(func.count()).where(Observation.datastream_id == datastream_id)) or 0
    )


def test_the_same_observation_sent_twice_is_stored_once(session: Session) -> None:
    g = gauge(session)
    batch = [
        Reading(phenomenon_time=T0 + timedelta(minutes=i), result=i, datastream_id=g.datastream.id)
        for i in range(3)
    ]
    first = ingest(session, batch)
    again = ingest(session, [*batch, batch[0]])
    assert (len(first.stored), first.duplicates) == (3, 0)
    assert (len(again.stored), again.duplicates) == (0, 4)
    assert _count(session, g.datastream.id) == 3


def test_bad_readings_are_refused_with_a_reason_and_the_rest_kept(session: Session) -> None:
    g = gauge(session)
    report = ingest(
        session,
        [
            Reading(phenomenon_time=T0, result=12.5, datastream_id=g.datastream.id),
            Reading(
                phenomenon_time=T0 + timedelta(minutes=1),
                result="deep",
                datastream_id=g.datastream.id,
            ),
            Reading(
                phenomenon_time=utcnow() + timedelta(days=2),
                result=1,
                datastream_id=g.datastream.id,
            ),
            Reading(phenomenon_time=T0, result=1, datastream_id=g.datastream.id + 999),
            Reading(
                phenomenon_time=T0 + timedelta(minutes=2),
                result=True,
                datastream_id=g.datastream.id,
            ),
        ],
    )
    assert [(r.index, r.code) for r in report.rejected] == [
        (1, "not_numeric"),
        (2, "time_in_future"),
        (3, "unknown_stream"),
        (4, "not_numeric"),
    ]
    assert len(report.stored) == 1
    session.refresh(g.thing)
    assert g.thing.error_count == 3
    assert g.thing.last_error is not None
    assert g.thing.last_error.startswith("not_numeric")


def test_latest_value_status_and_rollups_follow_the_data(session: Session) -> None:
    g = gauge(session)
    values = [3.0, 9.0, 6.0]
    ingest(
        session,
        [
            Reading(
                phenomenon_time=T0 + timedelta(seconds=10 * i),
                result=v,
                datastream_id=g.datastream.id,
            )
            for i, v in enumerate(values)
        ],
    )
    # An older reading arriving late changes the rollup but not the latest value.
    ingest(
        session,
        [
            Reading(
                phenomenon_time=T0 - timedelta(hours=2), result=1.0, datastream_id=g.datastream.id
            )
        ],
    )
    session.refresh(g.datastream)
    session.refresh(g.thing)
    assert g.datastream.last_result == 6.0
    assert g.datastream.last_time == T0 + timedelta(seconds=20)
    # The stream's phenomenonTime spans everything stored, the late reading included.
    assert g.datastream.phenomenon_time_start == T0 - timedelta(hours=2)
    assert g.datastream.phenomenon_time_end == T0 + timedelta(seconds=20)
    assert g.thing.status == "online"
    # The rollups follow once the timer has folded the batches' deltas.
    assert session.get(Rollup, (g.datastream.id, 60, T0)) is None
    assert fold_all(session) > 0
    minute = session.get(Rollup, (g.datastream.id, 60, T0))
    assert minute is not None
    assert (minute.count, minute.total, minute.minimum, minute.maximum) == (3, 18.0, 3.0, 9.0)
    ingest(
        session,
        [
            Reading(
                phenomenon_time=T0 + timedelta(seconds=50),
                result=-1.0,
                datastream_id=g.datastream.id,
            )
        ],
    )
    fold_all(session)
    session.refresh(minute)
    assert (minute.count, minute.minimum, minute.maximum) == (4, -1.0, 9.0)
    day = session.get(Rollup, (g.datastream.id, 86400, datetime(2026, 11, 30, tzinfo=UTC)))
    assert day is not None
    assert day.count == 5


def test_truth_streams_take_booleans(session: Session) -> None:
    g = gauge(session, code="MC-TEST-001", observation_type=TRUTH_OBSERVATION)
    report = ingest(
        session,
        [
            Reading(phenomenon_time=T0, result=True, datastream_id=g.datastream.id),
            Reading(
                phenomenon_time=T0 + timedelta(minutes=1), result=1, datastream_id=g.datastream.id
            ),
        ],
    )
    assert [r.code for r in report.rejected] == ["not_boolean"]
    stored = session.scalars(
        select(Observation).where(Observation.datastream_id == g.datastream.id)
    ).one()
    assert (stored.result_number, stored.result_json) == (None, True)


def test_observation_ids_are_unique_ordered_and_safe_for_javascript(session: Session) -> None:
    g = gauge(session)
    ids = observation_ids(session, 1000)
    assert len(set(ids)) == 1000
    assert ids == sorted(ids)
    assert all(0 < i < 2**53 for i in ids)
    ingest(session, [Reading(phenomenon_time=T0, result=1.0, datastream_id=g.datastream.id)])
    stored = session.scalar(select(func.max(Observation.id)))
    assert stored is not None
    assert min(observation_ids(session, 5)) > stored


def test_rollup_deltas_fold_in_batches_and_leave_nothing_behind(session: Session) -> None:
    g = gauge(session, code="WL-FOLD-001")
    for second in range(0, 180, 20):
        ingest(
            session,
            [
                Reading(
                    phenomenon_time=T0 + timedelta(seconds=second),
                    result=float(second),
                    datastream_id=g.datastream.id,
                )
            ],
        )
    pending = session.scalar(select(func.count()).select_from(RollupDelta))
    assert pending == 9
    assert fold(session, limit=4) == 4
    assert fold_all(session) == 5
    assert session.scalar(select(func.count()).select_from(RollupDelta)) == 0
    minutes = session.scalars(
        select(Rollup)
        .where(Rollup.datastream_id == g.datastream.id, Rollup.bucket_seconds == 60)
        .order_by(Rollup.bucket_start)
    ).all()
    assert [(m.count, m.minimum, m.maximum) for m in minutes] == [
        (3, 0.0, 40.0),
        (3, 60.0, 100.0),
        (3, 120.0, 160.0),
    ]
    hour = session.get(Rollup, (g.datastream.id, 3600, T0.replace(minute=0, second=0)))
    assert hour is not None
    assert (hour.count, hour.total) == (9, float(sum(range(0, 180, 20))))
