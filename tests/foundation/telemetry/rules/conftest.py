"""Rule tests: rules loaded through the profile loader from a folder of the test's own,
devices of test device types, and readings sent through ``ingest`` as any door would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.telemetry.alarm_models import Alarm
from cityos.foundation.telemetry.ingest import MEASUREMENT, TRUTH_OBSERVATION, Reading, ingest
from cityos.foundation.telemetry.rules import forget_compiled_rules
from cityos.kernel import profiles
from cityos.kernel.bus import OutboxEvent
from cityos.kernel.registry import Registry
from cityos.settings import Settings
from tests.factories.telemetry import Device, device

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """``minutes`` after the tests' first reading."""
    return T0 + timedelta(minutes=minutes)


@pytest.fixture(autouse=True)
def _fresh_rules() -> Iterator[None]:
    # Each test's rules live in its own rolled-back transaction.
    forget_compiled_rules()
    yield
    forget_compiled_rules()


LoadRules = Callable[[str], None]


@pytest.fixture
def load_rules(
    session: Session, settings: Settings, registry: Registry, tmp_path: Path
) -> LoadRules:
    """Load a ``rules.yaml`` text as the profile's only rules file."""

    def load(text: str) -> None:
        folder = tmp_path / "profile" / "packs" / "test"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "rules.yaml").write_text(text, encoding="utf-8")
        profiles.load(
            session,
            root=tmp_path / "profile",
            registry=Registry((registry.by_name("telemetry"),)),
            settings=settings,
        )

    return load


def gauge_device(session: Session, code: str = "WL-1", **extra: Any) -> Device:
    """A waterlogging gauge of the test type ``test-gauge``."""
    return device(
        session, type_code="test-gauge", observes={"water_depth": MEASUREMENT}, code=code, **extra
    )


def cover_device(session: Session, code: str = "MC-1") -> Device:
    """A manhole cover sensor: open (true/false) and tilt (degrees)."""
    return device(
        session,
        type_code="test-cover",
        observes={"cover_open": TRUTH_OBSERVATION, "cover_tilt": MEASUREMENT},
        code=code,
    )


def send(session: Session, dev: Device, prop: str, *points: tuple[float, Any]) -> None:
    """Readings of one property: (minutes after T0, result) each, one batch."""
    stream = dev.streams[prop].id
    report = ingest(
        session,
        [Reading(phenomenon_time=at(m), result=v, datastream_id=stream) for m, v in points],
    )
    assert not report.rejected


def alarms_of(session: Session, dev: Device) -> list[Alarm]:
    return list(
        session.scalars(select(Alarm).where(Alarm.thing_id == dev.thing.id).order_by(Alarm.id))
    )


def events(session: Session, kind: str) -> list[dict[str, Any]]:
    return [
        e.payload
        for e in session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == kind).order_by(OutboxEvent.created_at)
        )
    ]
