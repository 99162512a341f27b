"""The demo's synthetic devices: values with the shape of the real thing, a rainstorm that
floods the low points, and readings that reach the store like a device's would."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityos.foundation.telemetry.ingest import MEASUREMENT
from cityos.foundation.telemetry.models import DeviceType, Observation, ObservedProperty, Thing
from cityos.foundation.telemetry.simulate import (
    DirectSink,
    SimulatedStream,
    due,
    readings_between,
    run,
    streams,
    value,
)
from cityos.kernel.clock import SHANGHAI
from cityos.kernel.runtime import Runtime
from tests.factories.telemetry import gauge


def _stream(code: str, prop: str, interval: int = 300) -> SimulatedStream:
    return SimulatedStream(code, 1, prop, interval, 114.12, 22.55)


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


def test_traffic_peaks_at_rush_hour_on_weekdays() -> None:
    roads = [_stream(f"TF-{n:03d}", "traffic_flow") for n in range(20)]
    rush = sum(float(value(s, _local(2, 8, 15))) for s in roads)  # a Wednesday
    night = sum(float(value(s, _local(2, 3, 0))) for s in roads)
    assert rush > 3 * night


def test_a_rainstorm_floods_the_low_points_and_a_normal_day_does_not() -> None:
    gauges = [_stream(f"WL-{n:04d}", "water_depth") for n in range(200)]
    start = _local(2, 14)
    peak = start + timedelta(minutes=60)
    stormy = [float(value(g, peak, scenario="rainstorm", started=start)) for g in gauges]
    calm = [float(value(g, peak)) for g in gauges]
    assert max(calm) < 3
    flooded = [d for d in stormy if d > 15]
    # Some points flood, not all: the low-lying ones first.
    assert 0.2 * len(gauges) < len(flooded) < len(gauges)
    after = [
        float(value(g, start + timedelta(hours=4), scenario="rainstorm", started=start))
        for g in gauges
    ]
    assert max(after) < 3


def test_each_device_reports_on_its_own_interval() -> None:
    every_5_min = [_stream(f"PM-{n}", "pm25", 300) for n in range(10)]
    since = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    moments = list(due(every_5_min, since, since + timedelta(hours=1)))
    assert len(moments) == 10 * 12
    offsets = {m.second + 60 * (m.minute % 5) for _, m in moments}
    assert len(offsets) > 1  # not all on the minute
    payload = readings_between(every_5_min, since, since + timedelta(minutes=5))
    assert sorted(payload) == sorted(s.device_code for s in every_5_min)


def test_the_simulator_sends_synthetic_devices_readings_into_the_store(runtime: Runtime) -> None:
    with runtime.unit_of_work() as session:
        session.add(
            DeviceType(
                code="test-waterlogging",
                name_zh="积水监测（测试）",
                name_en="Waterlogging gauge (test)",
                observes=[{"property": "water_depth"}],
                interval_seconds=300,
                document={},
            )
        )
        g = gauge(session, code="WL-SIM-0001", observation_type=MEASUREMENT)
        thing = session.get(Thing, g.thing.id)
        assert thing is not None
        thing.device_type_code, thing.synthetic = "test-waterlogging", True
        prop = session.get(ObservedProperty, g.datastream.observed_property_id)
        assert prop is not None
        prop.code = "water_depth"
        datastream_id = g.datastream.id
    with runtime.unit_of_work() as session:
        found = streams(session)
    assert [(s.device_code, s.property_code) for s in found] == [("WL-SIM-0001", "water_depth")]

    stop = threading.Event()
    sent: list[int] = []

    def report(until: datetime, count: int) -> None:
        sent.append(count)
        stop.set()  # one slice is enough

    run(
        DirectSink(runtime, found),
        found,
        scenario="normal",
        tick=0.1,
        backfill=timedelta(hours=1),
        stop=stop,
        report=report,
    )
    with runtime.unit_of_work() as session:
        stored = session.scalar(
            select(func.count()).where(Observation.datastream_id == datastream_id)
        )
    assert sent == [stored]
    assert stored in (12, 13)  # an hour at one reading every 5 minutes


def test_only_synthetic_devices_are_driven(session: Session) -> None:
    gauge(session, code="WL-REAL-0001")
    assert streams(session) == []
