"""Sensing test data, built through the models the SensorThings API writes: a Thing with a
Location, a Sensor, an ObservedProperty and a Datastream of the given observation type
(``gauge``), or a device of a device type with one Datastream per property (``device``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.telemetry.devices import DeviceSpec, create_device
from cityos.foundation.telemetry.ingest import MEASUREMENT
from cityos.foundation.telemetry.models import (
    Datastream,
    DeviceType,
    Location,
    ObservedProperty,
    Sensor,
    Thing,
    ThingLocation,
)
from cityos.foundation.telemetry.packs import DeviceTypesFile, device_types_section
from cityos.kernel.profiles import ProfileContext
from cityos.settings import Settings


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


@dataclass(frozen=True)
class Device:
    thing: Thing
    streams: dict[str, Datastream]


def device(
    session: Session,
    *,
    type_code: str,
    observes: dict[str, str],
    code: str,
    interval_seconds: int = 300,
    lon: float = 114.118,
    lat: float = 22.548,
    region_code: str | None = None,
) -> Device:
    """A device of type ``type_code`` (made if missing) with one Datastream per observed
    property code, ``observes`` mapping each code to its observation type."""
    if session.get(DeviceType, type_code) is None:
        session.add(
            DeviceType(
                code=type_code,
                name_zh=type_code,
                name_en=type_code,
                observes=[{"property": p, "observation_type": t} for p, t in observes.items()],
                interval_seconds=interval_seconds,
                document={},
            )
        )
    thing = Thing(name=code, code=code, device_type_code=type_code, region_code=region_code)
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
    sensor = Sensor(name=f"{type_code} sensor", encoding_type="text/plain", sensor_metadata="")
    session.add_all([thing, location, sensor])
    session.flush()
    session.add(ThingLocation(thing_id=thing.id, location_id=location.id))
    streams: dict[str, Datastream] = {}
    for prop_code, observation_type in observes.items():
        prop = session.scalar(select(ObservedProperty).where(ObservedProperty.code == prop_code))
        if prop is None:
            prop = ObservedProperty(
                name=prop_code, definition=f"https://cityos.example/def/{prop_code}", code=prop_code
            )
            session.add(prop)
            session.flush()
        streams[prop_code] = Datastream(
            name=f"{code} {prop_code}",
            observation_type=observation_type,
            unit_of_measurement={},
            thing_id=thing.id,
            sensor_id=sensor.id,
            observed_property_id=prop.id,
        )
        session.add(streams[prop_code])
    session.flush()
    return Device(thing, streams)


# --- device types and devices, through the profile loader and the registry's service -------

TYPES_DOCUMENT = {
    "device_types": [
        {
            "code": "waterlogging-gauge",
            "name": {"zh": "积水监测仪", "en": "Waterlogging gauge"},
            "interval": "5 min",
            "observes": [
                {
                    "property": "water_depth",
                    "name": {"zh": "积水深度", "en": "Water depth"},
                    "unit": {
                        "name": "centimetre",
                        "symbol": "cm",
                        "definition": "http://qudt.org/vocab/unit/CentiM",
                    },
                    "type": "measurement",
                    "range": [0, 200],
                }
            ],
        },
        {
            "code": "manhole-cover-sensor",
            "name": {"zh": "智能井盖", "en": "Manhole cover sensor"},
            "interval": "1 h",
            "observes": [
                {
                    "property": "cover_open",
                    "name": {"zh": "井盖开启", "en": "Cover open"},
                    "type": "truth",
                },
                {
                    "property": "cover_tilt",
                    "name": {"zh": "井盖倾角", "en": "Cover tilt"},
                    "unit": {
                        "name": "degree",
                        "symbol": "°",
                        "definition": "http://qudt.org/vocab/unit/DEG",
                    },
                    "type": "measurement",
                },
            ],
        },
    ]
}


def device_types(session: Session, settings: Settings) -> None:
    """The two device types of ``TYPES_DOCUMENT``, loaded as the profile loader does."""
    context = ProfileContext(name="test", root=Path("."), settings=settings)
    device_types_section.load(session, context, [DeviceTypesFile.model_validate(TYPES_DOCUMENT)])


def registered_device(
    session: Session,
    code: str,
    *,
    device_type: str = "waterlogging-gauge",
    lon: float = 114.105,
    lat: float = 22.54,
) -> Thing:
    """A device registered through the registry (its types and regions must be loaded)."""
    return create_device(
        session,
        actor=None,
        spec=DeviceSpec(
            code=code,
            name=f"设备 {code}",
            name_en=f"Device {code}",
            device_type=device_type,
            lon=lon,
            lat=lat,
        ),
    )
