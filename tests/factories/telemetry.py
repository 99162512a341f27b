"""Sensing test data, built through the models the SensorThings API writes: a Thing with a
Location, a Sensor, an ObservedProperty and a Datastream of the given observation type."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from cityos.foundation.telemetry.ingest import MEASUREMENT
from cityos.foundation.telemetry.models import (
    Datastream,
    Location,
    ObservedProperty,
    Sensor,
    Thing,
    ThingLocation,
)


@dataclass(frozen=True)
class Gauge:
    thing: Thing
    datastream: Datastream


def gauge(
    session: Session,
    *,
    code: str = "WL-TEST-001",
    observation_type: str = MEASUREMENT,
    lon: float = 114.118,
    lat: float = 22.548,
    region_code: str | None = None,
) -> Gauge:
    """A waterlogging gauge (积水监测) measuring water depth in cm."""
    thing = Thing(name=f"积水监测 {code}", code=code, region_code=region_code)
    location = Location(
        name=f"{code} 安装点",
        location={"type": "Point", "coordinates": [lon, lat]},
        lon=lon,
        lat=lat,
        min_lon=lon,
        min_lat=lat,
        max_lon=lon,
        max_lat=lat,
    )
    sensor = Sensor(name="超声波液位计", encoding_type="text/plain", sensor_metadata="synthetic")
    prop = ObservedProperty(
        name="积水深度", definition="https://cityos.example/def/water_depth", code=None
    )
    session.add_all([thing, location, sensor, prop])
    session.flush()
    session.add(ThingLocation(thing_id=thing.id, location_id=location.id))
    datastream = Datastream(
        name=f"{code} 积水深度",
        observation_type=observation_type,
        unit_of_measurement={"name": "centimetre", "symbol": "cm", "definition": "ucum:cm"},
        thing_id=thing.id,
        sensor_id=sensor.id,
        observed_property_id=prop.id,
    )
    session.add(datastream)
    session.flush()
    return Gauge(thing, datastream)
