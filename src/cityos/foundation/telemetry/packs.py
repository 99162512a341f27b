"""The sensing part of a district profile: each pack's ``device-types.yaml`` (what a kind
of device observes, in which units, how often it reports) and ``devices.geojson`` (the
devices themselves, as points).

Two sections:

- ``telemetry-device-types`` (order 170): ``DeviceType`` rows and the ``ObservedProperty``
  rows they name, by code. A property named by several types must be named alike.
- ``telemetry-devices`` (order 171): one ``Thing`` per device (by ``code``) with its
  ``Location`` (and the first ``HistoricalLocation``), placed on the region tree by the geo
  module's index; one ``Sensor`` per device type, shared by its devices; one ``Datastream``
  per device and observed property.

Both compare with what is stored and write only the difference, in bulk: the demo profile
is loaded by many tests, and a first load of Luohu's ~1,700 devices must stay well under a
second of added time. A device no longer in the profile is left as it is (it may have years
of data); its removal is an administrator's act.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.telemetry.devices import (
    DEVICE_CODE,
    DeviceSpec,
    add_devices,
    add_missing_streams,
    device_points,
    ensure_status_timer,
    move_device,
    regions_of,
    thing_values,
)
from cityos.foundation.telemetry.ingest import COUNT_OBSERVATION, MEASUREMENT, TRUTH_OBSERVATION
from cityos.foundation.telemetry.models import DeviceType, ObservedProperty, Thing
from cityos.foundation.telemetry.retention import ensure_retention_timer
from cityos.kernel.i18n import LocalizedText
from cityos.kernel.profiles import ProfileContext, ProfileDocuments, ProfileIssue
from cityos.kernel.registry import ProfileSection

OBSERVATION_TYPES: Final = {
    "measurement": MEASUREMENT,
    "count": COUNT_OBSERVATION,
    "truth": TRUTH_OBSERVATION,
}
PROPERTY_DEFINITION: Final = "https://cityos.dev/def/property/{code}"
_INTERVAL: Final = re.compile(r"^\s*(\d+)\s*(s|min|h)\s*$")
_SECONDS: Final = {"s": 1, "min": 60, "h": 3600}


# --- device-types.yaml --------------------------------------------------------------------


class Unit(BaseModel):
    """A unit of measurement as SensorThings has it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    symbol: str = Field(min_length=1, max_length=30)
    definition: str = Field(min_length=1, max_length=500)


class SensorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: LocalizedText
    encoding_type: str = "text/plain"
    metadata: str = ""


class Observes(BaseModel):
    """One property a device type observes."""

    model_config = ConfigDict(extra="forbid")

    property: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    name: LocalizedText
    description: LocalizedText | None = None
    definition: str | None = Field(default=None, max_length=500)
    unit: Unit | None = None
    type: Literal["measurement", "count", "truth"]
    range: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _fits_its_type(self) -> Observes:
        numeric = self.type != "truth"
        if numeric and self.unit is None:
            raise ValueError(f"a {self.type} needs a unit")
        if not numeric and (self.unit is not None or self.range is not None):
            raise ValueError("a truth (true/false) observation has no unit or range")
        if self.range is not None and self.range[0] >= self.range[1]:
            raise ValueError("range is [low, high] with low below high")
        return self

    # (No ``@property`` in this class: the field ``property`` shadows the builtin here.)
    def observation_uri(self) -> str:
        """The SensorThings observation type this ``type`` stands for."""
        return OBSERVATION_TYPES[self.type]

    def unit_of_measurement(self) -> dict[str, Any]:
        """The Datastream's ``unitOfMeasurement``: null members for a truth observation,
        as SensorThings 1.1 asks of a stream without a unit."""
        if self.unit is None:
            return {"name": None, "symbol": None, "definition": None}
        return self.unit.model_dump()


class DeviceTypeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[a-z][a-z0-9-]{0,63}$")
    name: LocalizedText
    interval: int = Field(description='"30 s", "5 min" or "1 h"; seconds once validated')
    sensor: SensorSpec | None = None
    observes: list[Observes] = Field(min_length=1)

    @field_validator("interval", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> Any:
        if isinstance(value, str):
            match = _INTERVAL.match(value)
            if match is None:
                raise ValueError('an interval reads "30 s", "5 min" or "1 h"')
            return int(match.group(1)) * _SECONDS[match.group(2)]
        return value

    @field_validator("interval")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("an interval is at least one second")
        return value

    @model_validator(mode="after")
    def _properties_once(self) -> DeviceTypeSpec:
        codes = [o.property for o in self.observes]
        if len(codes) != len(set(codes)):
            raise ValueError("a property is observed twice")
        return self

    def observes_document(self) -> list[dict[str, Any]]:
        """``DeviceType.observes``: what each stream of such a device is."""
        return [
            {
                "property": o.property,
                "name": o.name.model_dump(),
                "unit": o.unit_of_measurement(),
                "observation_type": o.observation_uri(),
                "min": o.range[0] if o.range else None,
                "max": o.range[1] if o.range else None,
            }
            for o in self.observes
        ]


class DeviceTypesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device_types: list[DeviceTypeSpec] = Field(default_factory=list)


def _check_types(documents: ProfileDocuments) -> list[ProfileIssue]:
    """Type codes are unique across packs; a property shared by types is named alike."""
    issues: list[ProfileIssue] = []
    seen_types: dict[str, str] = {}
    seen_props: dict[str, tuple[str, Observes]] = {}
    for file in documents.files:
        document = file.document
        assert isinstance(document, DeviceTypesFile)
        for i, spec in enumerate(document.device_types):
            if spec.code in seen_types:
                issues.append(
                    ProfileIssue(
                        file.relative,
                        file.line_of(("device_types", i, "code")),
                        f"device_types.{i}.code",
                        f"device type {spec.code!r} is also declared in {seen_types[spec.code]}",
                    )
                )
            seen_types.setdefault(spec.code, file.relative)
            for j, observes in enumerate(spec.observes):
                first = seen_props.setdefault(observes.property, (file.relative, observes))
                if _property_fields(first[1]) != _property_fields(observes):
                    issues.append(
                        ProfileIssue(
                            file.relative,
                            file.line_of(("device_types", i, "observes", j)),
                            f"device_types.{i}.observes.{j}",
                            f"property {observes.property!r} is described otherwise in "
                            f"{first[0]} (name, definition and type must agree)",
                        )
                    )
    return issues


def _property_fields(observes: Observes) -> tuple[Any, ...]:
    return (observes.name, observes.definition, observes.type)


def _load_types(session: Session, context: ProfileContext, documents: list[Any]) -> None:
    specs = [spec for document in documents for spec in document.device_types]
    if not specs:
        return
    _upsert_properties(session, context, [o for spec in specs for o in spec.observes])
    stored = {t.code: t for t in session.scalars(select(DeviceType))}
    for spec in specs:
        values = {
            "name_zh": spec.name.zh,
            "name_en": spec.name.en,
            "observes": spec.observes_document(),
            "interval_seconds": spec.interval,
            "document": spec.model_dump(mode="json"),
        }
        row = stored.get(spec.code)
        if row is None:
            session.add(DeviceType(code=spec.code, **values))
            context.count("device_types")
        elif any(getattr(row, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(row, key, value)
            context.count("device_types_updated")
    session.flush()


def _upsert_properties(
    session: Session, context: ProfileContext, observed: Sequence[Observes]
) -> None:
    wanted: dict[str, Observes] = {}
    for o in observed:
        wanted.setdefault(o.property, o)
    stored = {
        p.code: p
        for p in session.scalars(
            select(ObservedProperty).where(ObservedProperty.code.in_(list(wanted)))
        )
    }
    for code, o in wanted.items():
        values = {
            "name": o.name.zh,
            "definition": o.definition or PROPERTY_DEFINITION.format(code=code),
            "description": o.description.zh if o.description else "",
            "properties": {
                "name_en": o.name.en,
                **({"description_en": o.description.en} if o.description else {}),
            },
        }
        row = stored.get(code)
        if row is None:
            session.add(ObservedProperty(code=code, **values))
            context.count("observed_properties")
        elif any(getattr(row, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(row, key, value)
    session.flush()


device_types_section = ProfileSection(
    name="telemetry-device-types",
    files=("packs/*/device-types.yaml",),
    schema=DeviceTypesFile,
    load=_load_types,
    order=170,
    required=False,
    check=_check_types,
)


# --- devices.geojson ----------------------------------------------------------------------


class DevicePoint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["Point"]
    coordinates: tuple[float, float]  # WGS84 longitude, latitude


class DeviceProperties(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=DEVICE_CODE)
    name: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    device_type: str = Field(min_length=1, max_length=64)
    synthetic: bool = False
    # What the device is attached to or watches (a river, a hydrant's code, a road …).
    attributes: dict[str, str | int | float | bool] = Field(default_factory=dict)


class DeviceFeature(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["Feature"]
    properties: DeviceProperties
    geometry: DevicePoint

    @field_validator("geometry")
    @classmethod
    def _on_earth(cls, value: DevicePoint) -> DevicePoint:
        lon, lat = value.coordinates
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError("coordinates are WGS84 longitude, latitude")
        return value


class DevicesFile(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["FeatureCollection"]
    features: list[DeviceFeature]


def _check_devices(documents: ProfileDocuments) -> list[ProfileIssue]:
    """Device codes are unique; each names a device type the profile declares (checked
    when the device types themselves are valid)."""
    # Types that failed their own validation would make every device of theirs an echo.
    types_valid = "telemetry-device-types" in documents.earlier
    known: set[str] = set()
    for file in documents.earlier.get("telemetry-device-types", []):
        document = file.document
        assert isinstance(document, DeviceTypesFile)
        known |= {spec.code for spec in document.device_types}
    issues: list[ProfileIssue] = []
    seen: dict[str, str] = {}
    for file in documents.files:
        document = file.document
        assert isinstance(document, DevicesFile)
        for i, feature in enumerate(document.features):
            props = feature.properties
            where = f"features.{i}.properties"
            if props.code in seen:
                message = f"device {props.code!r} is also in {seen[props.code]}"
                issues.append(ProfileIssue(file.relative, None, where + ".code", message))
            seen.setdefault(props.code, file.relative)
            if types_valid and props.device_type not in known:
                message = f"unknown device type {props.device_type!r}"
                issues.append(ProfileIssue(file.relative, None, where + ".device_type", message))
    return issues


def _spec(feature: DeviceFeature) -> DeviceSpec:
    props = feature.properties
    lon, lat = feature.geometry.coordinates
    return DeviceSpec(
        code=props.code,
        name=props.name,
        name_en=props.name_en,
        device_type=props.device_type,
        lon=lon,
        lat=lat,
        synthetic=props.synthetic,
        attributes=dict(props.attributes),
    )


def _load_devices(session: Session, context: ProfileContext, documents: list[Any]) -> None:
    specs = [_spec(f) for document in documents for f in document.features]
    if not specs:
        return
    regions = regions_of(session, specs)
    stored: dict[str, Thing] = {
        str(thing.code): thing
        for thing in session.scalars(select(Thing).where(Thing.code.in_([s.code for s in specs])))
    }
    placed = device_points(session, [t.id for t in stored.values()])
    changed = 0
    for spec, region in zip(specs, regions, strict=True):
        thing = stored.get(spec.code)
        if thing is None:
            continue
        values = thing_values(spec, region)
        moved = placed.get(thing.id) != (spec.lon, spec.lat) and move_device(session, thing, spec)
        if moved or any(getattr(thing, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(thing, key, value)
            changed += 1
    if changed:
        session.flush()
        context.count("devices_updated", changed)
    new = [(s, r) for s, r in zip(specs, regions, strict=True) if s.code not in stored]
    ids = add_devices(session, [s for s, _ in new], [r for _, r in new])
    if ids:
        context.count("devices", len(ids))
    # Every device, new or known, has one stream per property its type observes.
    types = {t.code: t for t in session.scalars(select(DeviceType))}
    by_id = {**{code: t.id for code, t in stored.items()}, **ids}
    added = add_missing_streams(session, {by_id[s.code]: (s, types[s.device_type]) for s in specs})
    if added:
        context.count("datastreams", added)
    ensure_status_timer(session)
    ensure_retention_timer(session)


devices_section = ProfileSection(
    name="telemetry-devices",
    files=("packs/*/devices.geojson",),
    schema=DevicesFile,
    load=_load_devices,
    order=171,
    required=False,
    check=_check_devices,
)

__all__ = [
    "DeviceTypeSpec",
    "DeviceTypesFile",
    "DevicesFile",
    "device_types_section",
    "devices_section",
]
