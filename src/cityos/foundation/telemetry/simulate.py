"""The demo district's synthetic sensors: values with the shape of the real thing, made
up for the demo and marked as such (every device they drive is a ``synthetic`` Thing).

Each observed property has a daily pattern in Shenzhen time (rush hours for traffic,
working hours for construction dust and noise, a tide on the Shenzhen River, pressure
dipping with water use), a little noise seeded per device, and rare faults. A scenario
bends them: ``rainstorm`` brings rain over the district and water onto the low-lying
points (the waterlogging gauges nearest the rivers first), so the rules raise alarms and
the contingency plans have something to answer.

Readings go out the way a real device would send them: as HTTP batches or MQTT messages
to a running platform, or (``direct``) straight into ``ingest`` for a demo on one machine.
The patterns are written here by hand: no library models a district's sensors.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.telemetry.ingest import Reading, ingest
from cityos.foundation.telemetry.models import (
    Datastream,
    DeviceType,
    Location,
    ObservedProperty,
    Thing,
    ThingLocation,
)
from cityos.kernel.clock import SHANGHAI, utcnow
from cityos.kernel.runtime import Runtime

SCENARIOS = ("normal", "rainstorm")
# Readings stored per transaction when sending straight to ingest.
DIRECT_BATCH = 2000
# The Shenzhen River's tide is semi-diurnal: one high water every 12 h 25 min.
TIDE_PERIOD_H = 12.42


@dataclass(frozen=True)
class SimulatedStream:
    """One datastream the simulator drives: its device, property and place."""

    device_code: str
    datastream_id: int
    property_code: str
    interval_s: int
    lon: float | None
    lat: float | None

    @property
    def seed(self) -> int:
        """A stable per-stream number, so a device keeps its own character across runs."""
        digest = hashlib.sha256(f"{self.device_code}/{self.property_code}".encode()).digest()
        return int.from_bytes(digest[:8], "big")


def streams(session: Session) -> list[SimulatedStream]:
    """Every datastream of a synthetic device whose property the simulator knows."""
    rows = session.execute(
        select(
            Thing.code,
            Datastream.id,
            ObservedProperty.code,
            DeviceType.interval_seconds,
            Location.lon,
            Location.lat,
        )
        .join(Datastream, Datastream.thing_id == Thing.id)
        .join(ObservedProperty, ObservedProperty.id == Datastream.observed_property_id)
        .join(DeviceType, DeviceType.code == Thing.device_type_code)
        .outerjoin(ThingLocation, ThingLocation.thing_id == Thing.id)
        .outerjoin(Location, Location.id == ThingLocation.location_id)
        .where(Thing.synthetic.is_(True), Thing.code.is_not(None))
        .order_by(Thing.code, Datastream.id)
    )
    found: dict[int, SimulatedStream] = {}
    for code, ds_id, prop, interval, lon, lat in rows:
        if prop in PATTERNS and ds_id not in found:
            found[ds_id] = SimulatedStream(str(code), ds_id, str(prop), int(interval), lon, lat)
    return list(found.values())


# --- the patterns ------------------------------------------------------------------------


def _hour(moment: datetime) -> float:
    local = moment.astimezone(SHANGHAI)
    return local.hour + local.minute / 60 + local.second / 3600


def _bump(hour: float, centre: float, width: float) -> float:
    """A smooth daily peak at ``centre`` o'clock, about ``width`` hours wide."""
    distance = min(abs(hour - centre), 24 - abs(hour - centre))
    return math.exp(-((distance / width) ** 2))


def _storm(moment: datetime, scenario: str, started: datetime) -> float:
    """The rainstorm's strength, 0 to 1: it builds over 30 minutes, holds for an hour and
    eases off over the next hour."""
    if scenario != "rainstorm":
        return 0.0
    minutes = (moment - started).total_seconds() / 60
    if minutes < 0:
        return 0.0
    if minutes < 30:
        return minutes / 30
    if minutes < 90:
        return 1.0
    return max(0.0, 1 - (minutes - 90) / 60)


def value(
    stream: SimulatedStream,
    moment: datetime,
    *,
    scenario: str = "normal",
    started: datetime | None = None,
) -> float | bool:
    """The stream's value at ``moment`` under ``scenario`` (started at ``started``)."""
    tick = int(moment.timestamp() // max(stream.interval_s, 1))
    rng = random.Random(stream.seed ^ tick)  # noqa: S311 - a repeatable demo, not a secret
    character = random.Random(stream.seed)  # noqa: S311 - as above
    hour = _hour(moment)
    storm = _storm(moment, scenario, started or moment)
    return PATTERNS[stream.property_code](rng, character, hour, moment, storm)


def _rainfall(r: random.Random, c: random.Random, hour: float, at: datetime, storm: float) -> float:
    drizzle = 0.2 if r.random() < 0.03 else 0.0
    return round(drizzle + storm * (8 + c.random() * 6) * (0.8 + 0.4 * r.random()), 1)


def _river_level(
    r: random.Random, c: random.Random, hour: float, at: datetime, storm: float
) -> float:
    base = 1.2 + c.random() * 0.8
    tide = 0.45 * math.sin(2 * math.pi * (at.timestamp() / 3600) / TIDE_PERIOD_H)
    return round(base + tide + storm * 1.8 + r.gauss(0, 0.02), 2)


def _water_depth(
    r: random.Random, c: random.Random, hour: float, at: datetime, storm: float
) -> float:
    # Some points flood first: a per-device susceptibility decides how deep it gets.
    susceptibility = c.random()
    depth = storm * 45 * math.pow(susceptibility, 0.7)
    return round(max(0.0, depth + r.gauss(0, 0.4)), 1)


def _smoke(r: random.Random, c: random.Random, hour: float, at: datetime, storm: float) -> bool:
    return r.random() < 0.0002


def _hydrant_pressure(
    r: random.Random, c: random.Random, hour: float, at: datetime, storm: float
) -> float:
    use = 0.6 * _bump(hour, 7.5, 1.5) + 0.8 * _bump(hour, 19.5, 2)
    faulty = c.random() < 0.01  # a few hydrants lose pressure: the fire brigade must know
    base = 0.12 if faulty else 0.32 + c.random() * 0.06
    return round(base - 0.05 * use + r.gauss(0, 0.005), 3)


def _cover_open(
    r: random.Random, c: random.Random, hour: float, at: datetime, storm: float
) -> bool:
    return r.random() < 0.0005 + 0.002 * storm


def _cover_tilt(
    r: random.Random, c: random.Random, hour: float, at: datetime, storm: float
) -> float:
    return round(abs(r.gauss(0.8, 0.5)) + (25 if r.random() < 0.0005 else 0), 1)


def _pm10(r: random.Random, c: random.Random, hour: float, at: datetime, storm: float) -> float:
    working = 1.0 if 8 <= hour < 18 else 0.15
    dusty = 40 + c.random() * 60
    return round(max(5.0, 35 + dusty * working * (1 - 0.7 * storm) + r.gauss(0, 6)), 1)


def _noise(r: random.Random, c: random.Random, hour: float, at: datetime, storm: float) -> float:
    working = 1.0 if 8 <= hour < 18 else 0.0
    # A few sites work at night against the rules: the night-noise rule catches them.
    night_work = 1.0 if c.random() < 0.05 and (hour >= 22 or hour < 2) else 0.0
    level = 45 + 25 * working + 18 * night_work
    return round(level + r.gauss(0, 2.5), 1)


def _pm25(r: random.Random, c: random.Random, hour: float, at: datetime, storm: float) -> float:
    traffic = _bump(hour, 8.5, 1.5) + _bump(hour, 18.5, 2)
    return round(max(3.0, 18 + 8 * c.random() + 14 * traffic - 10 * storm + r.gauss(0, 2)), 1)


def _traffic_flow(
    r: random.Random, c: random.Random, hour: float, at: datetime, storm: float
) -> float:
    weekday = at.astimezone(SHANGHAI).weekday() < 5
    peaks = (_bump(hour, 8.3, 1.2) + _bump(hour, 18.2, 1.5)) if weekday else _bump(hour, 15, 4)
    capacity = 120 + 200 * c.random()
    flow = capacity * (0.12 + 0.85 * peaks + 0.25 * _bump(hour, 13, 3)) * (1 - 0.3 * storm)
    return float(max(0, round(flow + r.gauss(0, 8))))


def _parking(r: random.Random, c: random.Random, hour: float, at: datetime, storm: float) -> float:
    commercial = c.random() < 0.6
    shape = _bump(hour, 14, 4) if commercial else 1 - 0.7 * _bump(hour, 13, 4)
    return round(min(100.0, max(0.0, 100 * (0.15 + 0.8 * shape) + r.gauss(0, 3))), 1)


PATTERNS = {
    "rainfall": _rainfall,
    "river_level": _river_level,
    "water_depth": _water_depth,
    "smoke": _smoke,
    "hydrant_pressure": _hydrant_pressure,
    "cover_open": _cover_open,
    "cover_tilt": _cover_tilt,
    "pm10": _pm10,
    "noise": _noise,
    "pm25": _pm25,
    "traffic_flow": _traffic_flow,
    "parking_occupancy": _parking,
}


def due(
    all_streams: Sequence[SimulatedStream], since: datetime, until: datetime
) -> Iterator[tuple[SimulatedStream, datetime]]:
    """Each stream's reporting moments in ``(since, until]``, on its own interval and a
    per-device offset (devices do not all report on the minute)."""
    for stream in all_streams:
        interval = max(stream.interval_s, 1)
        offset = stream.seed % interval
        first = math.floor((since.timestamp() - offset) / interval) + 1
        last = math.floor((until.timestamp() - offset) / interval)
        for n in range(first, last + 1):
            yield stream, datetime.fromtimestamp(n * interval + offset, tz=since.tzinfo)


def readings_between(
    all_streams: Sequence[SimulatedStream],
    since: datetime,
    until: datetime,
    *,
    scenario: str = "normal",
    started: datetime | None = None,
) -> dict[str, list[dict[str, object]]]:
    """What every device would send for ``(since, until]``, by device code, in the device
    payload's shape (``{"property", "time", "value"}``)."""
    out: dict[str, list[dict[str, object]]] = {}
    for stream, moment in due(all_streams, since, until):
        out.setdefault(stream.device_code, []).append(
            {
                "property": stream.property_code,
                "time": moment.isoformat(),
                "value": value(stream, moment, scenario=scenario, started=started),
            }
        )
    return out


# --- sending ------------------------------------------------------------------------------


class Sink(Protocol):
    """Where a tick's readings go: ``{device code: [{"property", "time", "value"}]}``."""

    def send(self, batch: dict[str, list[dict[str, object]]]) -> int:
        """Send the batch; the number of readings stored (or, over MQTT, acknowledged)."""
        ...


class DirectSink:
    """Straight into ``ingest`` in this process (the one-machine demo)."""

    def __init__(self, runtime: Runtime, all_streams: Sequence[SimulatedStream]) -> None:
        self.runtime = runtime
        self.by_device = {(s.device_code, s.property_code): s.datastream_id for s in all_streams}

    def send(self, batch: dict[str, list[dict[str, object]]]) -> int:
        readings = [
            Reading(
                phenomenon_time=datetime.fromisoformat(str(item["time"])),
                result=item["value"],
                datastream_id=self.by_device[(code, str(item["property"]))],
            )
            for code, items in batch.items()
            for item in items
        ]
        stored = 0
        for start in range(0, len(readings), DIRECT_BATCH):
            with self.runtime.unit_of_work() as session:
                stored += len(ingest(session, readings[start : start + DIRECT_BATCH]).stored)
        return stored


class HttpSink:
    """HTTP batches to ``/api/v1/telemetry/ingest`` of a running platform."""

    def __init__(self, url: str, api_key: str) -> None:
        self.client = httpx.Client(
            base_url=url.rstrip("/"), headers={"X-API-Key": api_key}, timeout=30
        )

    def send(self, batch: dict[str, list[dict[str, object]]]) -> int:
        body = {"devices": [{"device": code, "observations": obs} for code, obs in batch.items()]}
        answer = self.client.post("/api/v1/telemetry/ingest", json=body)
        answer.raise_for_status()
        return int(answer.json().get("stored", 0))


class MqttSink:
    """Each device's readings as one QoS 1 message on its own topic
    (``cityos/devices/<code>/telemetry``), as a device on the street would send them."""

    def __init__(self, url: str) -> None:
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

        from cityos.foundation.telemetry.mqtt import MqttOptions

        options = MqttOptions.from_url(url)
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"cityos-simulator-{secrets.token_hex(4)}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if options.username:
            self.client.username_pw_set(options.username, options.password)
        if options.tls:
            self.client.tls_set()
        self.client.max_inflight_messages_set(1000)
        self.client.connect(options.host, options.port)
        self.client.loop_start()

    def send(self, batch: dict[str, list[dict[str, object]]]) -> int:
        sent = [
            self.client.publish(
                f"cityos/devices/{code}/telemetry",
                json.dumps({"observations": observations}, ensure_ascii=False),
                qos=1,
            )
            for code, observations in batch.items()
        ]
        for message in sent:
            message.wait_for_publish(30)
        return sum(len(observations) for observations in batch.values())

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def run(
    sink: Sink,
    all_streams: Sequence[SimulatedStream],
    *,
    scenario: str,
    tick: float,
    backfill: timedelta,
    stop: threading.Event,
    report: Callable[[datetime, int], None] | None = None,
) -> None:
    """Send what the devices observe, tick by tick, until ``stop`` is set; first the
    ``backfill`` before now (so charts have a history), in hour-long slices."""
    now = utcnow()
    last = now - backfill
    started = now  # a scenario begins when the simulator does
    while not stop.is_set():
        until = min(utcnow(), last + timedelta(hours=1))
        if until > last:
            batch = readings_between(all_streams, last, until, scenario=scenario, started=started)
            sent = sink.send(batch) if batch else 0
            if report is not None:
                report(until, sent)
            last = until
        if until >= utcnow() - timedelta(seconds=tick):
            stop.wait(tick)
