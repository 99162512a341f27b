"""The device registry (设备管理): devices are SensorThings Things with a code, a type from
the profile, a place on the region tree, credentials, and a status derived from their data.

- Placing devices (``add_devices``) writes the Thing, its Location and first
  HistoricalLocation, and one Datastream per property its type observes, sharing one Sensor
  per device type; the profile loader and ``create_device`` both go through it, in bulk.
- Credentials: a device proves itself with ``<code>:<secret>``. Only a keyed hash of the
  secret is stored (HMAC-SHA256, key derived from the installation secret, bound to the
  device code), as API keys are (``identity.apikeys`` explains why a fast keyed hash is
  right for 256 random bits). Issuing again rotates: the old secret stops working at once.
- Status: ``ingest`` marks a device online whenever it stores one of its readings; the
  ``telemetry.device_status`` timer (every minute) marks it offline when it has been silent
  for more than three of its type's intervals, and fault when its error counter rose since
  the previous check. A device that never reported stays ``unknown``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Select, insert, or_, select, update
from sqlalchemy.orm import Session

from cityos.foundation.audit import record
from cityos.foundation.geo import locate_many
from cityos.foundation.identity.authz import Actor, reach_clause, reaches
from cityos.foundation.telemetry.models import (
    Datastream,
    DeviceType,
    HistoricalLocation,
    HistoricalLocationLocation,
    Location,
    ObservedProperty,
    Sensor,
    Thing,
    ThingLocation,
)
from cityos.kernel.clock import utcnow
from cityos.kernel.errors import Conflict, NotFound, Unauthenticated, ValidationFailed
from cityos.kernel.jobs import Job, JobStatus, schedule
from cityos.kernel.pagination import Page, paginate
from cityos.settings import Settings

STATUSES: Final = ("unknown", "online", "offline", "fault")
# What a device sends as its name on MQTT topics and in the Authorization header.
DEVICE_CODE: Final = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
STATUS_JOB: Final = "telemetry.device_status"
STATUS_EVERY: Final = 60
# A device is offline after this many of its type's intervals without a reading.
SILENT_INTERVALS: Final = 3
READ_PERMISSION: Final = "telemetry.devices.read"
MANAGE_PERMISSION: Final = "telemetry.devices.manage"
_HASH_INFO: Final = b"cityos device-secret hash v1"
_BATCH: Final = 2000

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "device_not_found": {
        "zh-CN": "设备不存在或不在您的辖区内",
        "en": "No such device within your reach",
    },
    "device_exists": {"zh-CN": "设备编号已存在", "en": "A device with this code exists"},
    "unknown_device_type": {"zh-CN": "未知的设备类型", "en": "Unknown device type"},
    "device_outside_district": {
        "zh-CN": "设备位置不在本区范围内",
        "en": "The device is outside the district",
    },
    "device_auth_failed": {"zh-CN": "设备认证失败", "en": "Device authentication failed"},
}


class DeviceNotFound(NotFound):
    code = "device_not_found"


# --- placing devices ---------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceSpec:
    """A device as the profile or an administrator describes it."""

    code: str
    name: str
    name_en: str
    device_type: str
    lon: float
    lat: float
    synthetic: bool = False
    attributes: dict[str, Any] = field(default_factory=dict)


def regions_of(session: Session, specs: Sequence[DeviceSpec]) -> list[str | None]:
    """The grid code each device stands in (``None`` outside the district), in one pass of
    the geo module's index."""
    if not specs:
        return []
    found, codes = locate_many(session, [s.lon for s in specs], [s.lat for s in specs])
    return [codes[i] if i >= 0 else None for i in found.tolist()]


def thing_values(spec: DeviceSpec, region: str | None) -> dict[str, Any]:
    """The registry columns of a device's Thing."""
    return {
        "name": spec.name,
        "description": spec.name_en,
        "properties": {"name_en": spec.name_en, **spec.attributes},
        "device_type_code": spec.device_type,
        "region_code": region,
        "synthetic": spec.synthetic,
    }


def location_values(spec: DeviceSpec) -> dict[str, Any]:
    """The Location row of a device standing at its point."""
    return {
        "name": spec.name,
        "description": spec.name_en,
        "encoding_type": "application/geo+json",
        "location": {"type": "Point", "coordinates": [spec.lon, spec.lat]},
        "lon": spec.lon,
        "lat": spec.lat,
        "min_lon": spec.lon,
        "min_lat": spec.lat,
        "max_lon": spec.lon,
        "max_lat": spec.lat,
    }


def add_devices(
    session: Session, specs: Sequence[DeviceSpec], regions: Sequence[str | None]
) -> dict[str, int]:
    """Insert new devices with their Locations and first HistoricalLocations, in bulk
    (their streams come from ``add_missing_streams``); their ids by code."""
    ids: dict[str, int] = {}
    pairs = list(zip(specs, regions, strict=True))
    for start in range(0, len(pairs), _BATCH):
        part = pairs[start : start + _BATCH]
        thing_ids = list(
            session.scalars(
                insert(Thing).returning(Thing.id, sort_by_parameter_order=True),
                [{"code": s.code, "status": "unknown", **thing_values(s, r)} for s, r in part],
            )
        )
        location_ids = list(
            session.scalars(
                insert(Location).returning(Location.id, sort_by_parameter_order=True),
                [location_values(s) for s, _ in part],
            )
        )
        history_ids = list(
            session.scalars(
                insert(HistoricalLocation).returning(
                    HistoricalLocation.id, sort_by_parameter_order=True
                ),
                [{"thing_id": thing_id} for thing_id in thing_ids],
            )
        )
        session.execute(
            insert(ThingLocation),
            [
                {"thing_id": t, "location_id": loc}
                for t, loc in zip(thing_ids, location_ids, strict=True)
            ],
        )
        session.execute(
            insert(HistoricalLocationLocation),
            [
                {"historical_location_id": h, "location_id": loc}
                for h, loc in zip(history_ids, location_ids, strict=True)
            ],
        )
        ids.update((s.code, thing_id) for (s, _), thing_id in zip(part, thing_ids, strict=True))
    return ids


def move_device(session: Session, thing: Thing, spec: DeviceSpec) -> bool:
    """Put the device's Location at the spec's point if it stands elsewhere, with a new
    HistoricalLocation (SensorThings records each move); whether it moved."""
    location = session.scalars(
        select(Location)
        .join(ThingLocation, ThingLocation.location_id == Location.id)
        .where(ThingLocation.thing_id == thing.id)
        .order_by(Location.id)
    ).first()
    if location is not None and (location.lon, location.lat) == (spec.lon, spec.lat):
        return False
    values = location_values(spec)
    if location is None:
        location = Location(**values)
        session.add(location)
        session.flush()
        session.add(ThingLocation(thing_id=thing.id, location_id=location.id))
    else:
        for key, value in values.items():
            setattr(location, key, value)
    history = HistoricalLocation(thing_id=thing.id)
    session.add(history)
    session.flush()
    session.add(
        HistoricalLocationLocation(historical_location_id=history.id, location_id=location.id)
    )
    session.flush()
    return True


def type_sensors(session: Session, types: Iterable[DeviceType]) -> dict[str, int]:
    """The one Sensor of each device type (made, or renamed as the type now says), by type
    code. A type's Sensor carries ``properties.device_type``."""
    by_type: dict[str, Sensor] = {}
    for existing in session.scalars(select(Sensor).order_by(Sensor.id)):
        code = (existing.properties or {}).get("device_type")
        if isinstance(code, str):
            by_type.setdefault(code, existing)
    for device_type in types:
        spec = device_type.document.get("sensor") or {}
        names = spec.get("name") or {"zh": device_type.name_zh, "en": device_type.name_en}
        values = {
            "name": names["zh"],
            "description": names["en"],
            "encoding_type": spec.get("encoding_type", "text/plain"),
            "sensor_metadata": spec.get("metadata", ""),
            "properties": {"device_type": device_type.code, "name_en": names["en"]},
        }
        sensor = by_type.get(device_type.code)
        if sensor is None:
            sensor = Sensor(**values)
            session.add(sensor)
            by_type[device_type.code] = sensor
        else:
            for key, value in values.items():
                if getattr(sensor, key) != value:
                    setattr(sensor, key, value)
    session.flush()
    return {code: sensor.id for code, sensor in by_type.items()}


def add_missing_streams(session: Session, devices: dict[int, tuple[DeviceSpec, DeviceType]]) -> int:
    """One Datastream per device (by Thing id) and property its type observes, for those
    it lacks; how many were added."""
    if not devices:
        return 0
    types = {device_type.code: device_type for _, device_type in devices.values()}
    sensors = type_sensors(session, types.values())
    wanted = {o["property"] for t in types.values() for o in t.observes}
    properties: dict[str, int] = {
        str(code): prop_id
        for code, prop_id in session.execute(
            select(ObservedProperty.code, ObservedProperty.id).where(
                ObservedProperty.code.in_(wanted)
            )
        )
    }
    have: set[tuple[int, int]] = set()
    ids = list(devices)
    for start in range(0, len(ids), _BATCH):
        for thing_id, property_id in session.execute(
            select(Datastream.thing_id, Datastream.observed_property_id).where(
                Datastream.thing_id.in_(ids[start : start + _BATCH])
            )
        ):
            have.add((thing_id, property_id))
    rows: list[dict[str, Any]] = []
    for thing_id, (spec, device_type) in devices.items():
        for observed in device_type.observes:
            property_id = properties[observed["property"]]
            if (thing_id, property_id) in have:
                continue
            rows.append(
                {
                    "name": f"{spec.name} · {observed['name']['zh']}",
                    "description": f"{spec.name_en} · {observed['name']['en']}",
                    "observation_type": observed["observation_type"],
                    "unit_of_measurement": observed["unit"],
                    "properties": {
                        "property": observed["property"],
                        "min": observed["min"],
                        "max": observed["max"],
                    },
                    "thing_id": thing_id,
                    "sensor_id": sensors[device_type.code],
                    "observed_property_id": property_id,
                }
            )
    for start in range(0, len(rows), _BATCH):
        session.execute(insert(Datastream), rows[start : start + _BATCH])
    return len(rows)


# --- reading the registry ----------------------------------------------------------------


def _reach(stmt: Select[Any], actor: Actor, permission: str) -> Select[Any]:
    reach = reach_clause(actor, region_column=Thing.region_code, permission=permission)
    return stmt if reach is None else stmt.where(reach)


def within_reach(actor: Actor, thing: Thing, permission: str) -> bool:
    """Whether one of the actor's grants giving ``permission`` reaches the device."""
    return any(
        reaches(grant, actor, region_code=thing.region_code)
        for grant in actor.grants
        if permission in grant.permissions
    )


def list_devices(
    session: Session,
    *,
    actor: Actor | None,
    device_type: str | None = None,
    status: str | None = None,
    region: str | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Thing]:
    """Registered devices (Things with a code) within the actor's reach, by code; ``actor``
    ``None`` is an operator at the command line, who sees all."""
    stmt = select(Thing).where(Thing.code.is_not(None))
    if actor is not None:
        stmt = _reach(stmt, actor, READ_PERMISSION)
    if device_type:
        stmt = stmt.where(Thing.device_type_code == device_type)
    if status:
        stmt = stmt.where(Thing.status == status)
    if region:
        stmt = stmt.where(Thing.region_code.startswith(region, autoescape=True))
    if q:
        stmt = stmt.where(
            or_(
                Thing.code.startswith(q, autoescape=True),
                Thing.name.contains(q, autoescape=True),
            )
        )
    return paginate(session, stmt, order_by=[Thing.code], cursor=cursor, limit=limit)


def get_device(
    session: Session, *, code: str, actor: Actor | None, permission: str = READ_PERMISSION
) -> Thing:
    """The device ``code`` if the actor reaches it (``None``: an operator), else not found."""
    thing = session.scalars(select(Thing).where(Thing.code == code)).first()
    if thing is None or (actor is not None and not within_reach(actor, thing, permission)):
        raise DeviceNotFound(f"no device {code!r} within your reach")
    return thing


@dataclass(frozen=True)
class StreamView:
    """One of a device's Datastreams with its latest value."""

    id: int
    property: str | None
    name: str
    observation_type: str
    unit: dict[str, Any]
    last_time: datetime | None
    last_result: Any


def device_streams(session: Session, thing: Thing) -> list[StreamView]:
    """The device's Datastreams, in property order of its type, with their last values."""
    rows = session.execute(
        select(Datastream, ObservedProperty.code)
        .join(ObservedProperty, ObservedProperty.id == Datastream.observed_property_id)
        .where(Datastream.thing_id == thing.id)
        .order_by(Datastream.id)
    ).all()
    return [
        StreamView(
            id=ds.id,
            property=code,
            name=ds.name,
            observation_type=ds.observation_type,
            unit=dict(ds.unit_of_measurement),
            last_time=ds.last_time,
            last_result=ds.last_result,
        )
        for ds, code in rows
    ]


def device_points(session: Session, thing_ids: Sequence[int]) -> dict[int, tuple[float, float]]:
    """The (lon, lat) of each device's first point Location, by Thing id."""
    points: dict[int, tuple[float, float]] = {}
    for start in range(0, len(thing_ids), _BATCH):
        for thing_id, lon, lat in session.execute(
            select(ThingLocation.thing_id, Location.lon, Location.lat)
            .join(Location, Location.id == ThingLocation.location_id)
            .where(
                ThingLocation.thing_id.in_(thing_ids[start : start + _BATCH]),
                Location.lon.is_not(None),
            )
            .order_by(Location.id.desc())
        ):
            if lon is not None and lat is not None:
                points[thing_id] = (float(lon), float(lat))
    return points


def device_location(session: Session, thing: Thing) -> tuple[float, float] | None:
    """The (lon, lat) of a device's first point Location."""
    row = session.execute(
        select(Location.lon, Location.lat)
        .join(ThingLocation, ThingLocation.location_id == Location.id)
        .where(ThingLocation.thing_id == thing.id, Location.lon.is_not(None))
        .order_by(Location.id)
    ).first()
    if row is None or row[0] is None or row[1] is None:
        return None
    return float(row[0]), float(row[1])


# --- provisioning ------------------------------------------------------------------------


def _device_type(session: Session, code: str) -> DeviceType:
    device_type = session.get(DeviceType, code)
    if device_type is None:
        raise ValidationFailed(
            f"no device type {code!r} in the profile",
            code="unknown_device_type",
            errors=[{"field": "device_type", "message": "unknown", "type": "unknown"}],
        )
    return device_type


def _placed(session: Session, spec: DeviceSpec, actor: Actor | None) -> str:
    region = regions_of(session, [spec])[0]
    if region is None:
        raise ValidationFailed(
            f"({spec.lon}, {spec.lat}) is outside the district",
            code="device_outside_district",
            errors=[{"field": "lon", "message": "outside the district", "type": "outside"}],
        )
    if actor is not None and not any(
        reaches(grant, actor, region_code=region)
        for grant in actor.grants
        if MANAGE_PERMISSION in grant.permissions
    ):
        raise DeviceNotFound(f"({spec.lon}, {spec.lat}) is outside your jurisdiction")
    return region


def _who(actor: Actor | None) -> str:
    return actor.username if actor is not None else "cli"


def _audit(
    session: Session, actor: Actor | None, action: str, thing: Thing, **details: Any
) -> None:
    record(
        session,
        actor=_who(actor),
        action=action,
        target_type="device",
        target_id=thing.code,
        outcome="success",
        details={"device_type": thing.device_type_code, **details},
    )


def create_device(session: Session, *, actor: Actor | None, spec: DeviceSpec) -> Thing:
    """Register a device with its location and streams, audited."""
    device_type = _device_type(session, spec.device_type)
    if session.scalars(select(Thing.id).where(Thing.code == spec.code)).first() is not None:
        raise Conflict(f"device {spec.code!r} exists", code="device_exists")
    region = _placed(session, spec, actor)
    thing_id = add_devices(session, [spec], [region])[spec.code]
    add_missing_streams(session, {thing_id: (spec, device_type)})
    ensure_status_timer(session)
    thing = session.get_one(Thing, thing_id)
    _audit(session, actor, "device.create", thing, region=region)
    return thing


@dataclass(frozen=True)
class DeviceChanges:
    """What an update may change; ``None`` leaves a field as it is."""

    name: str | None = None
    name_en: str | None = None
    device_type: str | None = None
    lon: float | None = None
    lat: float | None = None
    attributes: dict[str, Any] | None = None


def update_device(
    session: Session, *, actor: Actor | None, code: str, changes: DeviceChanges
) -> Thing:
    """Rename, retype or move a device, audited with the names of what changed. A new type
    adds the streams it observes; the old streams and their data stay."""
    thing = get_device(session, code=code, actor=actor, permission=MANAGE_PERMISSION)
    properties = dict(thing.properties or {})
    where = device_location(session, thing)
    if (changes.lon is None) != (changes.lat is None):
        raise ValidationFailed("give lon and lat together", code="validation_failed")
    lon, lat = (changes.lon, changes.lat) if changes.lon is not None else (where or (None, None))
    current_en = str(properties.get("name_en", thing.description))
    attributes = {k: v for k, v in properties.items() if k != "name_en"}
    spec = DeviceSpec(
        code=code,
        name=changes.name if changes.name is not None else thing.name,
        name_en=changes.name_en if changes.name_en is not None else current_en,
        device_type=changes.device_type or thing.device_type_code or "",
        lon=float(lon) if lon is not None else 0.0,
        lat=float(lat) if lat is not None else 0.0,
        synthetic=thing.synthetic,
        attributes=changes.attributes if changes.attributes is not None else attributes,
    )
    device_type = _device_type(session, spec.device_type)
    region = thing.region_code
    changed: list[str] = []
    if changes.lon is not None:
        region = _placed(session, spec, actor)
        if move_device(session, thing, spec):
            changed.append("location")
    values = thing_values(spec, region)
    for key, value in values.items():
        if getattr(thing, key) != value:
            setattr(thing, key, value)
            changed.append(key)
    session.flush()
    if "device_type_code" in changed:
        add_missing_streams(session, {thing.id: (spec, device_type)})
    if changed:
        _audit(session, actor, "device.update", thing, changed=sorted(set(changed)))
    return thing


# --- credentials -------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedSecret:
    """A device's new secret: shown once, never stored."""

    code: str
    secret: str
    rotated: bool

    @property
    def authorization(self) -> str:
        """The HTTP ``Authorization`` header value the device sends."""
        return f"Device {self.code}:{self.secret}"


def _hash(settings: Settings, code: str, secret: str) -> str:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HASH_INFO).derive(
        settings.secret_key_value().encode()
    )
    # Bound to the code, so a hash copied onto another device's row proves nothing there.
    return hmac.new(key, f"{code}\x00{secret}".encode(), hashlib.sha256).hexdigest()


def issue_credentials(
    session: Session, *, actor: Actor | None, code: str, settings: Settings
) -> IssuedSecret:
    """A new random secret for the device, replacing any earlier one, audited."""
    thing = get_device(session, code=code, actor=actor, permission=MANAGE_PERMISSION)
    rotated = thing.secret_hash is not None
    secret = secrets.token_urlsafe(32)
    thing.secret_hash = _hash(settings, code, secret)
    session.flush()
    action = "device.credentials.rotate" if rotated else "device.credentials.issue"
    _audit(session, actor, action, thing)
    return IssuedSecret(code=code, secret=secret, rotated=rotated)


def verify_device_secret(session: Session, *, code: str, secret: str, settings: Settings) -> Thing:
    """The device whose code and secret these are; every fault is the same refusal, so a
    caller cannot tell an unknown device from a wrong secret."""
    thing = session.scalars(select(Thing).where(Thing.code == code)).first()
    expected = _hash(settings, code, secret)
    if (
        thing is None
        or thing.secret_hash is None
        or not hmac.compare_digest(thing.secret_hash, expected)
    ):
        raise Unauthenticated("the device credentials are not valid", code="device_auth_failed")
    return thing


# --- status ------------------------------------------------------------------------------


@dataclass
class StatusCheck:
    """What one status check changed, and the error counters it saw (the next baseline)."""

    changed: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)


def check_status(
    session: Session, *, now: datetime, baseline: dict[str, int] | None
) -> StatusCheck:
    """Derive each typed device's status from its data: ``fault`` if its error counter
    rose above ``baseline`` (Thing id → count at the last check; ``None`` on the first
    check, which only takes the baseline), else ``offline`` if silent for more than
    ``SILENT_INTERVALS`` intervals, else ``online`` if it ever reported."""
    rows = session.execute(
        select(
            Thing.id,
            Thing.status,
            Thing.last_seen_at,
            Thing.error_count,
            DeviceType.interval_seconds,
        ).join(DeviceType, DeviceType.code == Thing.device_type_code)
    ).all()
    check = StatusCheck()
    moves: dict[str, list[int]] = {}
    for thing_id, status, last_seen, errors, interval in rows:
        if errors:
            check.errors[str(thing_id)] = int(errors)
        rose = baseline is not None and errors > baseline.get(str(thing_id), 0)
        if rose:
            wanted = "fault"
        elif last_seen is None:
            wanted = "unknown"
        elif now - last_seen > timedelta(seconds=SILENT_INTERVALS * interval):
            wanted = "offline"
        else:
            wanted = "online"
        if wanted != status:
            moves.setdefault(wanted, []).append(thing_id)
    for status, ids in moves.items():
        for start in range(0, len(ids), _BATCH):
            session.execute(
                update(Thing)
                .where(Thing.id.in_(ids[start : start + _BATCH]))
                .values(status=status)
                .execution_options(synchronize_session=False)
            )
        check.changed[status] = len(ids)
    return check


def status_job(session: Session, payload: dict[str, Any]) -> None:
    """The ``telemetry.device_status`` timer: one status check. The error counters it saw
    are kept in the timer's own payload for the next run, the only state the check needs
    (a column on the device would do as well, at the price of a migration)."""
    baseline = payload.get("errors")
    check = check_status(
        session, now=utcnow(), baseline=baseline if isinstance(baseline, dict) else None
    )
    session.execute(
        update(Job)
        .where(Job.dedupe_key == STATUS_JOB, Job.status == JobStatus.RUNNING)
        .values(payload={"errors": check.errors})
        .execution_options(synchronize_session=False)
    )


def ensure_status_timer(session: Session) -> None:
    """Schedule the status timer unless it is scheduled (runs after the caller commits)."""
    schedule(session, name=STATUS_JOB, payload={}, dedupe_key=STATUS_JOB, every=STATUS_EVERY)
