"""``GET /api/v1/ioc/kpis``: the big screen's KPI tiles for one region within one's reach."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from cityos.domains.cases.models import Channel
from cityos.foundation.identity.authz import Actor, require
from cityos.foundation.telemetry.alarm_models import Severity
from cityos.kernel.clock import utcnow
from cityos.kernel.http import DbSession
from cityos.platforms.ioc import kpis as service
from cityos.platforms.ioc.kpis import PERMISSION

PERMISSIONS: dict[str, dict[str, str]] = {
    PERMISSION: {"zh": "查看运营中心指标", "en": "Read IOC indicators"},
}

router = APIRouter(prefix="/ioc", tags=["ioc 运营中心"])

Rate = Annotated[float | None, Field(ge=0, le=1)]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class RegionOut(_Out):
    code: str
    level: str = Field(description="district, subdistrict, community or grid")
    name_zh: str
    name_en: str


class CaseKpisOut(_Out):
    reported_today: int = Field(description="cases reported since midnight, Asia/Shanghai")
    reported_today_by_channel: dict[Channel, int]
    open: int = Field(description="cases not in a terminal state (closed, rejected, merged)")
    overdue: int = Field(description="open cases past their current step's deadline")
    window_days: int = Field(description="the days, today included, the rates below cover")
    closed: int = Field(description="cases reported in the window and closed since")
    closed_on_time: int
    on_time_closure_rate: Rate = Field(description="closed on time / closed; null: none closed")
    rated: int = Field(description="cases reported in the window with a satisfaction rating")
    satisfied: int = Field(description="rated satisfied (4 or 5 of 5), as evaluation counts")
    satisfaction_rate: Rate = Field(description="satisfied / rated; null: none rated")


class DeviceKpisOut(_Out):
    total: int = Field(description="registered devices")
    online: int
    offline: int
    fault: int
    unknown: int = Field(description="no data yet to judge by")
    online_rate: Rate = Field(description="online / total; null: no devices")


class AlarmKpisOut(_Out):
    open: int = Field(description="alarms not cleared")
    by_severity: dict[Severity, int]
    acknowledged: int
    unacknowledged: int


class PlanKpisOut(_Out):
    running: int = Field(description="active contingency-plan runs (drills apart)")
    proposed: int = Field(description="runs a trigger proposed, awaiting the duty officer")
    drills: int = Field(description="active drills")
    highest_level: str | None = Field(description="the highest level running (IV … I)")


class KpisOut(_Out):
    as_of: datetime = Field(description="when the figures were counted (UTC)")
    region: RegionOut
    cases: CaseKpisOut
    devices: DeviceKpisOut
    alarms: AlarmKpisOut
    plans: PlanKpisOut


@router.get("/kpis", response_model=KpisOut)
def read_kpis(
    session: DbSession,
    actor: Annotated[Actor, Depends(require(PERMISSION))],
    region: Annotated[
        str | None,
        Query(
            pattern=r"^\d{6,15}$",
            description="a region code; by default the district, or the one region "
            "your grants name when they do not reach the whole district",
        ),
    ] = None,
) -> KpisOut:
    """The KPI tiles of a region within your reach, as counted now: cases, devices,
    alarms, contingency plans. 403 ``region_out_of_reach`` outside it, 404 ``region_not_found``."""
    found = service.kpis(session, actor=actor, region=region, now=utcnow())
    return KpisOut.model_validate(found)


class DayOut(_Out):
    day: date
    reported: int
    closed: int
    alarms: int


class TrendOut(_Out):
    region: RegionOut
    days: list[DayOut]


@router.get("/trend", response_model=TrendOut)
def read_trend(
    session: DbSession,
    actor: Annotated[Actor, Depends(require(PERMISSION))],
    region: Annotated[str | None, Query(pattern=r"^\d{6,15}$")] = None,
    days: Annotated[int, Query(ge=1, le=90)] = 30,
) -> TrendOut:
    """Per Shanghai day over the last ``days``: cases reported and closed, alarms raised
    (the screen's trend chart)."""
    place = service.resolve_region(session, actor=actor, code=region)
    found = service.trend(session, region=place, now=utcnow(), days=days)
    return TrendOut.model_validate({"region": place, "days": found})


@router.get("/cases")
def read_open_cases(
    session: DbSession,
    actor: Annotated[Actor, Depends(require(PERMISSION))],
    region: Annotated[str | None, Query(pattern=r"^\d{6,15}$")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 2000,
) -> dict[str, Any]:
    """The region's open cases as a GeoJSON FeatureCollection for the map, most urgent
    first: number, category, state and deadline (overdue flagged), nothing personal."""
    place = service.resolve_region(session, actor=actor, code=region)
    found = service.open_cases(session, region=place, now=utcnow(), limit=limit)
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": case.id,
                "geometry": {"type": "Point", "coordinates": [case.lon, case.lat]},
                "properties": {
                    "number": case.number,
                    "category_code": case.category_code,
                    "status": case.status,
                    "due_at": case.due_at.isoformat() if case.due_at else None,
                    "overdue": case.overdue,
                    "region_code": case.region_code,
                },
            }
            for case in found
        ],
    }
