"""``/api/v1/telemetry``: HTTP batch ingestion and series for charts.

``POST /telemetry/ingest`` takes a batch (``batches`` has its shape) from a device signed
in with ``Authorization: Device <code>:<secret>`` (its own readings only), or from a
gateway or system with a bearer token or API key holding ``telemetry.write``. It answers
200 with what was stored, what was a duplicate of an earlier send, and each refused
reading (its number, path, code and reason); malformed JSON is a 400, a body over 5 MB a
413, a malformed envelope a 422, all problem+json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, Field

from cityos.foundation.identity.authz import (
    Actor,
    Credentials,
    HeaderKey,
    QueryKey,
    current_actor,
    require,
)
from cityos.foundation.telemetry.batches import BatchError, readings_from_devices
from cityos.foundation.telemetry.devices import verify_device_secret
from cityos.foundation.telemetry.ingest import ingest
from cityos.foundation.telemetry.models import Thing
from cityos.foundation.telemetry.series import (
    READ_PERMISSION,
    Bucket,
    region_series,
    series,
    visible_datastream,
)
from cityos.kernel.access import declare
from cityos.kernel.errors import (
    DomainError,
    PayloadTooLarge,
    PermissionDenied,
    Unauthenticated,
    ValidationFailed,
)
from cityos.kernel.http import DbSession, RuntimeDep

router = APIRouter(prefix="/telemetry", tags=["telemetry 监测数据"])

WRITE_PERMISSION: Final = "telemetry.write"
MAX_BODY: Final = 5 * 1024 * 1024
# telemetry.write and telemetry.read are declared with the SensorThings API, which asks
# for the same two.
MESSAGES: dict[str, dict[str, str]] = {
    "malformed_json": {"zh-CN": "JSON 格式错误", "en": "Malformed JSON"},
    "bad_batch": {"zh-CN": "数据批次格式错误", "en": "Malformed batch"},
    "too_many": {"zh-CN": "批次中的观测过多", "en": "Too many observations in the batch"},
    "datastream_not_found": {
        "zh-CN": "数据流不存在或不在您的辖区内",
        "en": "No such datastream within your reach",
    },
    "bucket_needed": {
        "zh-CN": "区域曲线按时段汇总，请选择 1 分钟、1 小时或 1 天",
        "en": "A region's series needs a bucket: 1m, 1h or 1d",
    },
    "empty_range": {"zh-CN": "结束时间须晚于开始时间", "en": "The end must be after the start"},
    "naive_time": {"zh-CN": "时间须带时区", "en": "Times need a time zone"},
    "not_numeric": {"zh-CN": "该数据流只接受数值", "en": "This datastream takes numbers"},
}


class MalformedJson(DomainError):
    status = 400
    code = "malformed_json"


@dataclass(frozen=True)
class Sender:
    """Who sends a batch: a device proved by its secret, or a person or system."""

    device: Thing | None = None
    actor: Actor | None = None

    @property
    def name(self) -> str:
        if self.device is not None:
            return f"device:{self.device.code}"
        return self.actor.username if self.actor is not None else ""


def ingest_sender(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    credentials: Credentials,
    header_key: HeaderKey,
    query_key: QueryKey,
) -> Sender:
    """The access declaration of the ingest route: a device's own secret, or a bearer
    token or API key holding ``telemetry.write``."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "device":
        code, colon, secret = value.strip().partition(":")
        if not colon or not code or not secret:
            raise Unauthenticated("send Authorization: Device <code>:<secret>")
        thing = verify_device_secret(session, code=code, secret=secret, settings=runtime.settings)
        return Sender(device=thing)
    actor = current_actor(request, session, runtime, credentials, header_key, query_key)
    if not actor.can(WRITE_PERMISSION):
        raise PermissionDenied(f"this needs the permission {WRITE_PERMISSION}")
    return Sender(actor=actor)


declare(ingest_sender, WRITE_PERMISSION)


async def batch_body(request: Request) -> bytes:
    """The request body, refused with 413 past ``MAX_BODY`` without reading it all."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        raise PayloadTooLarge(f"a batch is at most {MAX_BODY} bytes", max_bytes=MAX_BODY)
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > MAX_BODY:
            raise PayloadTooLarge(f"a batch is at most {MAX_BODY} bytes", max_bytes=MAX_BODY)
    return bytes(received)


class RefusalOut(BaseModel):
    index: int = Field(description="the observation's number in the batch, from 0")
    path: str = Field(description="where it sits in the document")
    code: str
    message: str


class IngestOut(BaseModel):
    received: int
    stored: int
    duplicates: int
    rejected: list[RefusalOut]


_BATCH_EXAMPLE = {
    "devices": [
        {
            "device": "WL-0001",
            "observations": [
                {"property": "water_depth", "time": "2026-12-01T08:00:00+08:00", "value": 12.3}
            ],
        }
    ]
}


@router.post(
    "/ingest",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object"},
                    "example": _BATCH_EXAMPLE,
                }
            },
        }
    },
)
def ingest_batch(
    session: DbSession,
    sender: Annotated[Sender, Depends(ingest_sender)],
    body: Annotated[bytes, Depends(batch_body)],
) -> IngestOut:
    """Store a batch of observations once, however often it is sent."""
    try:
        payload: Any = json.loads(body) if body.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedJson(f"the body is not JSON: {exc}") from None
    try:
        converted = readings_from_devices(session, payload, device=sender.device)
    except BatchError as exc:
        raise ValidationFailed(str(exc), code=exc.code) from None
    report = ingest(session, converted.readings)
    refusals = converted.refusals(report)
    return IngestOut(
        received=len(converted.paths),
        stored=len(report.stored),
        duplicates=report.duplicates,
        rejected=[
            RefusalOut(index=r.index, path=converted.paths[r.index], code=r.code, message=r.message)
            for r in refusals
        ],
    )


class PointOut(BaseModel):
    time: datetime
    value: Any = None
    avg: float | None = None
    min: float | None = None
    max: float | None = None
    count: int | None = None


class SeriesOut(BaseModel):
    datastream: int
    bucket: Bucket
    points: list[PointOut]
    truncated: bool = Field(description="more points lie in the range: ask a coarser bucket")


class RegionPointOut(BaseModel):
    time: datetime
    avg: float | None
    min: float
    max: float
    count: int
    devices: int = Field(description="devices that reported in the bucket")


class RegionSeriesOut(BaseModel):
    region: str
    property: str
    bucket: Bucket
    points: list[RegionPointOut]
    truncated: bool


@router.get("/regions/{region}/series", response_model=RegionSeriesOut)
def read_region_series(
    session: DbSession,
    actor: Annotated[Actor, Depends(require(READ_PERMISSION))],
    region: Annotated[str, Path(pattern=r"^\d{6,15}$")],
    property_code: Annotated[str, Query(alias="property", max_length=64)],
    start: Annotated[AwareDatetime, Query(alias="from")],
    end: Annotated[AwareDatetime, Query(alias="to")],
    bucket: Bucket = "1h",
) -> RegionSeriesOut:
    """A property (``water_depth``, ``pm25`` …) over every device of a region within your
    reach, per 1 min / 1 h / 1 day: mean, minimum, maximum, count and devices reporting."""
    points, truncated = region_series(
        session,
        actor=actor,
        region=region,
        property_code=property_code,
        start=start,
        end=end,
        bucket=bucket,
    )
    return RegionSeriesOut(
        region=region,
        property=property_code,
        bucket=bucket,
        points=[RegionPointOut(**vars(p)) for p in points],
        truncated=truncated,
    )


@router.get("/series", response_model=SeriesOut, response_model_exclude_none=True)
def read_series(
    session: DbSession,
    actor: Annotated[Actor, Depends(require(READ_PERMISSION))],
    datastream: Annotated[int, Query(ge=1)],
    start: Annotated[AwareDatetime, Query(alias="from")],
    end: Annotated[AwareDatetime, Query(alias="to")],
    bucket: Bucket = "raw",
) -> SeriesOut:
    """A datastream's points from ``from`` to ``to``: raw values, or per 1 min / 1 h / 1 day
    the mean, minimum, maximum and count."""
    stream = visible_datastream(session, actor=actor, datastream_id=datastream)
    found = series(session, datastream=stream, start=start, end=end, bucket=bucket)
    return SeriesOut(
        datastream=found.datastream_id,
        bucket=found.bucket,
        points=[PointOut(**vars(p)) for p in found.points],
        truncated=found.truncated,
    )
