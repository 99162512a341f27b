"""``/api/v1/devices``: the device registry within one's reach, provisioning and credentials."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from cityos.foundation.identity.authz import Actor, require
from cityos.foundation.telemetry import devices
from cityos.foundation.telemetry.devices import (
    DEVICE_CODE,
    MANAGE_PERMISSION,
    READ_PERMISSION,
    STATUSES,
    DeviceChanges,
    DeviceSpec,
)
from cityos.foundation.telemetry.models import Thing
from cityos.kernel.http import DbSession, RuntimeDep
from cityos.kernel.pagination import PageOut, PageQuery

router = APIRouter(prefix="/devices", tags=["devices 设备"])

PERMISSIONS: dict[str, dict[str, str]] = {
    READ_PERMISSION: {"zh": "查看物联设备", "en": "Read IoT devices"},
    MANAGE_PERMISSION: {
        "zh": "登记和管理物联设备、发放设备密钥",
        "en": "Register and manage IoT devices, issue device secrets",
    },
}

Reader = Annotated[Actor, Depends(require(READ_PERMISSION))]
Manager = Annotated[Actor, Depends(require(MANAGE_PERMISSION))]
Lon = Annotated[float, Field(ge=-180, le=180)]
Lat = Annotated[float, Field(ge=-90, le=90)]


class StreamOut(BaseModel):
    id: int = Field(description="the Datastream's @iot.id")
    property: str | None
    name: str
    observation_type: str
    unit: dict[str, Any]
    last_time: datetime | None
    last_result: Any


class DeviceOut(BaseModel):
    code: str
    id: int = Field(description="the Thing's @iot.id")
    name: str
    name_en: str
    device_type: str | None
    region_code: str | None
    status: str
    last_seen_at: datetime | None
    error_count: int
    last_error: str | None
    has_credentials: bool
    synthetic: bool
    attributes: dict[str, Any]
    lon: float | None = None
    lat: float | None = None
    datastreams: list[StreamOut] | None = None


class DeviceIn(BaseModel):
    code: str = Field(pattern=DEVICE_CODE)
    name: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    device_type: str = Field(min_length=1, max_length=64)
    lon: Lon
    lat: Lat
    attributes: dict[str, str | int | float | bool] = Field(default_factory=dict)


class DevicePatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, min_length=1, max_length=200)
    device_type: str | None = Field(default=None, min_length=1, max_length=64)
    lon: Lon | None = None
    lat: Lat | None = None
    attributes: dict[str, str | int | float | bool] | None = None


class CredentialsOut(BaseModel):
    code: str
    secret: str = Field(description="shown once: only a keyed hash is kept")
    authorization: str = Field(description="the Authorization header the device sends")
    rotated: bool = Field(description="an earlier secret was replaced and no longer works")


def _out(
    session: Session,
    thing: Thing,
    *,
    detail: bool = False,
    point: tuple[float, float] | None = None,
) -> DeviceOut:
    properties = dict(thing.properties or {})
    name_en = str(properties.pop("name_en", thing.description))
    if detail:
        point = devices.device_location(session, thing)
    streams = (
        [StreamOut(**vars(view)) for view in devices.device_streams(session, thing)]
        if detail
        else None
    )
    return DeviceOut(
        code=thing.code or "",
        id=thing.id,
        name=thing.name,
        name_en=name_en,
        device_type=thing.device_type_code,
        region_code=thing.region_code,
        status=thing.status,
        last_seen_at=thing.last_seen_at,
        error_count=thing.error_count,
        last_error=thing.last_error,
        has_credentials=thing.secret_hash is not None,
        synthetic=thing.synthetic,
        attributes=properties,
        lon=point[0] if point else None,
        lat=point[1] if point else None,
        datastreams=streams,
    )


@router.get("", response_model=PageOut[DeviceOut])
def list_devices(
    session: DbSession,
    page: PageQuery,
    actor: Reader,
    device_type: Annotated[str | None, Query(alias="type", max_length=64)] = None,
    status_filter: Annotated[
        str | None, Query(alias="status", pattern=f"^({'|'.join(STATUSES)})$")
    ] = None,
    region: Annotated[str | None, Query(pattern=r"^\d{6,15}$")] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> PageOut[DeviceOut]:
    """Devices within your reach, by code: filter by type, status, region (a code prefix)
    or text (code prefix or part of the name)."""
    found = devices.list_devices(
        session,
        actor=actor,
        device_type=device_type,
        status=status_filter,
        region=region,
        q=q,
        cursor=page.cursor,
        limit=page.limit,
    )
    # Every device's place in one query: the map draws the list.
    points = devices.device_points(session, [thing.id for thing in found.items])
    return PageOut(
        items=[_out(session, thing, point=points.get(thing.id)) for thing in found.items],
        next_cursor=found.next_cursor,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DeviceOut)
def create_device(body: DeviceIn, session: DbSession, actor: Manager) -> DeviceOut:
    """Register a device: placed on the region tree, with a stream per property its type
    observes. Issue its secret with ``POST /devices/{code}/credentials``."""
    thing = devices.create_device(
        session,
        actor=actor,
        spec=DeviceSpec(
            code=body.code,
            name=body.name,
            name_en=body.name_en,
            device_type=body.device_type,
            lon=body.lon,
            lat=body.lat,
            attributes=dict(body.attributes),
        ),
    )
    return _out(session, thing, detail=True)


@router.get("/{code}", response_model=DeviceOut)
def read_device(code: str, session: DbSession, actor: Reader) -> DeviceOut:
    """One device with its datastreams and their latest values."""
    return _out(session, devices.get_device(session, code=code, actor=actor), detail=True)


@router.patch("/{code}", response_model=DeviceOut)
def update_device(code: str, body: DevicePatch, session: DbSession, actor: Manager) -> DeviceOut:
    """Rename, retype or move a device (give lon and lat together)."""
    thing = devices.update_device(
        session,
        actor=actor,
        code=code,
        changes=DeviceChanges(
            name=body.name,
            name_en=body.name_en,
            device_type=body.device_type,
            lon=body.lon,
            lat=body.lat,
            attributes=dict(body.attributes) if body.attributes is not None else None,
        ),
    )
    return _out(session, thing, detail=True)


@router.post("/{code}/credentials", status_code=status.HTTP_201_CREATED)
def issue_credentials(
    code: str, session: DbSession, runtime: RuntimeDep, actor: Manager
) -> CredentialsOut:
    """A new secret for the device, shown this once; an earlier one stops working."""
    issued = devices.issue_credentials(session, actor=actor, code=code, settings=runtime.settings)
    return CredentialsOut(
        code=issued.code,
        secret=issued.secret,
        authorization=issued.authorization,
        rotated=issued.rotated,
    )
