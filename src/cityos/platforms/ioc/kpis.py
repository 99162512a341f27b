"""The IOC big screen's KPI tiles (issue 7): the cases, devices and alarms of one region,
counted in the database at the moment asked.

- cases: reported today (the Asia/Shanghai day) and by channel; open (in a state of the
  case workflow that is not terminal); overdue (open and past ``due_at``); and over the
  last 30 Shanghai days, today included, the on-time closure and satisfaction rates as
  performance evaluation (``cases.evaluation``) computes them, so that the screen and the
  evaluation page show one figure for one period. Like evaluation, merged duplicates are
  left out and a rate with nothing to measure is null.
- devices: registered devices (Things with a code) by the status their data gives them.
- alarms: those not cleared, by severity, acknowledged or not.
- plans: contingency-plan runs concerning the region (its own, or a wider one covering it)
  that are active, proposed and awaiting confirmation, or active drills.

A district-wide region counts everything the platform holds (cases placed outside the
district, kept for referral, too); a subdistrict, community or grid counts what lies in it.
The screen polls every few seconds, so each tile group is one grouped count that an index
can answer, never work per row in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, literal, or_, select
from sqlalchemy.orm import Session

from cityos.domains.cases.evaluation import By, Evaluation, Period, evaluate
from cityos.domains.cases.models import Case, Channel
from cityos.domains.cases.service import WORKFLOW as CASE_WORKFLOW
from cityos.foundation.geo import Region, get_region, list_regions
from cityos.foundation.identity.authz import Actor, Grant, reaches
from cityos.foundation.identity.models import Scope
from cityos.foundation.telemetry.alarm_models import OPEN_STATUSES, Alarm, AlarmStatus, Severity
from cityos.foundation.telemetry.devices import STATUSES
from cityos.foundation.telemetry.models import Thing
from cityos.foundation.workflow import definition_of
from cityos.kernel.clock import SHANGHAI, as_utc
from cityos.kernel.errors import NotFound, PermissionDenied
from cityos.platforms.ioc.plans.definition import rank
from cityos.platforms.ioc.plans.models import OPEN_STATUSES as OPEN_RUNS
from cityos.platforms.ioc.plans.models import PlanRun, RunStatus

PERMISSION = "ioc.read"
WINDOW_DAYS = 30

MESSAGES: dict[str, dict[str, str]] = {
    "region_out_of_reach": {
        "zh-CN": "该区域不在您的管辖范围内",
        "en": "This region is outside your jurisdiction",
    },
}


@dataclass(frozen=True)
class CaseKpis:
    reported_today: int
    reported_today_by_channel: dict[Channel, int]
    open: int
    overdue: int
    window_days: int
    closed: int
    closed_on_time: int
    on_time_closure_rate: float | None
    rated: int
    satisfied: int
    satisfaction_rate: float | None


@dataclass(frozen=True)
class DeviceKpis:
    total: int
    online: int
    offline: int
    fault: int
    unknown: int
    online_rate: float | None


@dataclass(frozen=True)
class AlarmKpis:
    open: int
    by_severity: dict[Severity, int]
    acknowledged: int
    unacknowledged: int


@dataclass(frozen=True)
class PlanKpis:
    running: int
    proposed: int
    drills: int
    # The highest level among the running runs (IV lowest … I highest), if any runs.
    highest_level: str | None


@dataclass(frozen=True)
class Kpis:
    """The tiles of one region at ``as_of`` (UTC)."""

    as_of: datetime
    region: Region
    cases: CaseKpis
    devices: DeviceKpis
    alarms: AlarmKpis
    plans: PlanKpis


class RegionOutOfReach(PermissionDenied):
    code = "region_out_of_reach"


def _grants(actor: Actor) -> list[Grant]:
    return [g for g in actor.grants if PERMISSION in g.permissions]


def _default_region(session: Session, actor: Actor) -> str:
    """The district for those who reach it; for a viewer whose grants name one part of it
    only, that part, so their screen opens on what they may see."""
    districts = list_regions(session, level="district")
    if not districts:
        raise NotFound("no district is loaded", code="region_not_found")
    district = districts[0].code
    grants = _grants(actor)
    if any(g.scope is Scope.DISTRICT for g in grants):
        return district
    own = {code for g in grants if g.scope is Scope.JURISDICTION for code in g.jurisdiction}
    return own.pop() if len(own) == 1 else district


def resolve_region(session: Session, *, actor: Actor, code: str | None) -> Region:
    """The region asked for (or the default), ``region_not_found`` if there is none and
    ``region_out_of_reach`` if no ``ioc.read`` grant of the actor covers all of it.

    The tiles count a region, not one unit's cases, so a grant bound to a department
    reaches the regions of its jurisdiction whole."""
    region = get_region(session, code=code or _default_region(session, actor))
    if not any(
        reaches(g, actor, region_code=region.code, department_optional=True) for g in _grants(actor)
    ):
        raise RegionOutOfReach(f"the region {region.code} is outside your reach")
    return region


def _today(now: datetime) -> date:
    return as_utc(now).astimezone(SHANGHAI).date()


def _cases_in(region: Region) -> list[ColumnElement[bool]]:
    """Each level's own column, so the case indexes that start with it serve."""
    column = {
        "subdistrict": Case.subdistrict_code,
        "community": Case.community_code,
        "grid": Case.region_code,
    }.get(region.level)
    return [] if column is None else [column == region.code]


def _placed_in(region: Region, column: Any) -> list[ColumnElement[bool]]:
    """Devices and alarms carry the grid they stand in: a prefix of it names each level."""
    return [] if region.level == "district" else [column.startswith(region.code)]


def _open_states(session: Session) -> list[str]:
    """The case workflow's states that are not terminal (no workflow loaded: no cases)."""
    try:
        definition = definition_of(session, CASE_WORKFLOW)
    except NotFound:
        return []
    return [name for name, state in definition.states.items() if not state.terminal]


def _region_lens(region: Region) -> Actor | None:
    """What ``evaluate`` narrows by: it takes a region as the reach of a ``cases.evaluate``
    grant, so a grant over exactly this region (the caller's own reach was checked before);
    None, no narrowing, for the district."""
    if region.level == "district":
        return None
    grant = Grant(
        role="ioc-region",
        scope=Scope.JURISDICTION,
        permissions=frozenset({"cases.evaluate"}),
        jurisdiction=(region.code,),
    )
    return Actor(user_id=None, username="ioc", kind=None, grants=(grant,))


def _window(session: Session, region: Region, today: date) -> Evaluation:
    first = today - timedelta(days=WINDOW_DAYS - 1)
    period = Period.parse(f"{first.isoformat()}..{today.isoformat()}")
    return evaluate(session, period=period, by=By.SUBDISTRICT, actor=_region_lens(region))


def case_kpis(session: Session, *, region: Region, now: datetime) -> CaseKpis:
    """The case tiles of ``region`` at ``now``: three queries of counts (and evaluation's)."""
    today = _today(now)
    midnight = datetime.combine(today, time(), SHANGHAI)
    where = [*_cases_in(region), Case.master_case_id.is_(None)]
    by_channel = dict.fromkeys(Channel, 0)
    for channel, count in session.execute(
        select(Case.channel, func.count())
        .where(*where, Case.created_at >= midnight)
        .group_by(Case.channel)
    ):
        by_channel[Channel(channel)] = int(count)
    opened = session.execute(
        select(func.count(), func.count().filter(Case.due_at < now)).where(
            *where, Case.status.in_(_open_states(session))
        )
    ).one()
    window = _window(session, region, today).total
    return CaseKpis(
        reported_today=sum(by_channel.values()),
        reported_today_by_channel=by_channel,
        open=int(opened[0]),
        overdue=int(opened[1]),
        window_days=WINDOW_DAYS,
        closed=window.counts.closed,
        closed_on_time=window.counts.closed_on_time,
        on_time_closure_rate=window.rates.closed_on_time_rate,
        rated=window.counts.rated,
        satisfied=window.counts.satisfied,
        satisfaction_rate=window.rates.satisfaction_rate,
    )


def device_kpis(session: Session, *, region: Region) -> DeviceKpis:
    """Registered devices of ``region`` by status, in one grouped count."""
    counts = dict.fromkeys(STATUSES, 0)
    for status, count in session.execute(
        select(Thing.status, func.count())
        .where(Thing.code.is_not(None), *_placed_in(region, Thing.region_code))
        .group_by(Thing.status)
    ):
        counts[status] = counts.get(status, 0) + int(count)
    total = sum(counts.values())
    return DeviceKpis(
        total=total,
        online=counts["online"],
        offline=counts["offline"],
        fault=counts["fault"],
        unknown=total - counts["online"] - counts["offline"] - counts["fault"],
        online_rate=counts["online"] / total if total else None,
    )


def alarm_kpis(session: Session, *, region: Region) -> AlarmKpis:
    """Alarms of ``region`` not cleared, by severity and acknowledgement, in one count."""
    by_severity = dict.fromkeys(Severity, 0)
    acknowledged = 0
    for severity, status, count in session.execute(
        select(Alarm.severity, Alarm.status, func.count())
        .where(Alarm.status.in_(OPEN_STATUSES), *_placed_in(region, Alarm.region_code))
        .group_by(Alarm.severity, Alarm.status)
    ):
        by_severity[Severity(severity)] += int(count)
        if status == AlarmStatus.ACKNOWLEDGED:
            acknowledged += int(count)
    total = sum(by_severity.values())
    return AlarmKpis(
        open=total,
        by_severity=by_severity,
        acknowledged=acknowledged,
        unacknowledged=total - acknowledged,
    )


def plan_kpis(session: Session, *, region: Region) -> PlanKpis:
    """Open plan runs concerning ``region``: within it, or of a wider region covering it."""
    concerning = or_(
        PlanRun.region_code.startswith(region.code, autoescape=True),
        literal(region.code).startswith(PlanRun.region_code),
    )
    running = proposed = drills = 0
    levels: list[str] = []
    for status, drill, level, count in session.execute(
        select(PlanRun.status, PlanRun.drill, PlanRun.level, func.count())
        .where(PlanRun.status.in_(OPEN_RUNS), concerning)
        .group_by(PlanRun.status, PlanRun.drill, PlanRun.level)
    ):
        if drill:
            drills += int(count) if status == RunStatus.ACTIVE.value else 0
        elif status == RunStatus.ACTIVE.value:
            running += int(count)
            levels.append(level)
        else:
            proposed += int(count)
    highest = max(levels, key=rank) if levels else None
    return PlanKpis(running=running, proposed=proposed, drills=drills, highest_level=highest)


def kpis(session: Session, *, actor: Actor, region: str | None, now: datetime) -> Kpis:
    """Every tile of ``region`` (the default: see ``resolve_region``) as of ``now``."""
    place = resolve_region(session, actor=actor, code=region)
    return Kpis(
        as_of=as_utc(now),
        region=place,
        cases=case_kpis(session, region=place, now=now),
        devices=device_kpis(session, region=place),
        alarms=alarm_kpis(session, region=place),
        plans=plan_kpis(session, region=place),
    )


__all__ = [
    "MESSAGES",
    "PERMISSION",
    "AlarmKpis",
    "CaseKpis",
    "DeviceKpis",
    "Kpis",
    "PlanKpis",
    "RegionOutOfReach",
    "alarm_kpis",
    "case_kpis",
    "device_kpis",
    "kpis",
    "open_cases",
    "plan_kpis",
    "resolve_region",
    "trend",
]


# --- the screen's trend chart and case layer --------------------------------------------------


@dataclass(frozen=True)
class DayCount:
    day: date
    reported: int
    closed: int
    alarms: int


def trend(session: Session, *, region: Region, now: datetime, days: int) -> list[DayCount]:
    """Cases reported and closed and alarms raised per Shanghai day over the last ``days``
    (today included), three grouped counts."""
    today = _today(now)
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time(), SHANGHAI)
    where = [*_cases_in(region), Case.master_case_id.is_(None)]

    def per_day(column: Any, *conditions: Any) -> dict[date, int]:
        counts: dict[date, int] = {}
        for (moment,) in session.execute(select(column).where(column >= since, *conditions)):
            day = as_utc(moment).astimezone(SHANGHAI).date()
            counts[day] = counts.get(day, 0) + 1
        return counts

    reported = per_day(Case.created_at, *where)
    closed = per_day(Case.closed_at, *where, Case.closed_at.is_not(None))
    alarms = per_day(Alarm.raised_at, *_placed_in(region, Alarm.region_code))
    return [
        DayCount(
            day=day,
            reported=reported.get(day, 0),
            closed=closed.get(day, 0),
            alarms=alarms.get(day, 0),
        )
        for day in (first + timedelta(days=n) for n in range(days))
    ]


@dataclass(frozen=True)
class OpenCase:
    id: str
    number: str
    category_code: str | None
    status: str
    lon: float
    lat: float
    due_at: datetime | None
    overdue: bool
    region_code: str | None


def open_cases(session: Session, *, region: Region, now: datetime, limit: int) -> list[OpenCase]:
    """The open cases of ``region`` with a place, most urgent first (the map's case layer):
    number, category, state and deadline only, never the reporter or the description."""
    rows = session.execute(
        select(
            Case.id,
            Case.number,
            Case.category_code,
            Case.status,
            Case.lon,
            Case.lat,
            Case.due_at,
            Case.region_code,
        )
        .where(
            *_cases_in(region),
            Case.status.in_(_open_states(session)),
            Case.lon.is_not(None),
            Case.lat.is_not(None),
        )
        .order_by(Case.due_at.is_(None), Case.due_at, Case.id)
        .limit(limit)
    )
    return [
        OpenCase(
            id=str(row.id),
            number=row.number,
            category_code=row.category_code,
            status=row.status,
            lon=float(row.lon),
            lat=float(row.lat),
            due_at=row.due_at,
            overdue=row.due_at is not None and row.due_at < now,
            region_code=row.region_code,
        )
        for row in rows
    ]
