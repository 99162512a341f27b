"""A year of synthetic case history for the demo district, so that evaluation, maps and
trends have something to show. Every row it writes says ``synthetic``.

What makes it look like a district rather than noise, all drawn from one seeded generator:

- a category mix where a few classes dominate (暴露垃圾, 占道经营, 违规张贴小广告, 机动车违法
  停放, the manhole covers …) and the rest trail off;
- hot spots: a handful of grids get several times the average, and every grid its own level;
- seasons: the rain season (May–September) lifts waterlogging, drains and fallen trees, with
  rainstorm days on top; the Spring Festival and other holidays (from ``chinesecalendar``)
  and weekends are quieter;
- channels: hotline 45 %, portal 25 %, patrol 25 %, sensors and video AI 5 % (for the
  classes sensors can see);
- units that differ: each lead unit has its own chance of signing and handling on time and
  its own pace, and slow work is rated lower.

Closed historical cases get no workflow instance (``workflow_instance_id`` NULL): they exist
for evaluation and trends, and an instance with an invented history would be a second,
unverifiable copy of what the case row already says. Only live work needs a running
workflow, so the cases still open at ``end`` are started and moved with
``cityos.foundation.workflow.start`` and ``cityos.domains.cases.service.act``, as a person
would, and appear in the to-do lists. That costs tens of milliseconds a case, so only the
open cases reported in the last ``LIVE_WINDOW`` are written; older ones the simulation had
not closed by ``end`` are left out (a few hundred of a year's 100,000, all in the last
days). Those steps happen now, so an open case's step times are the generation time; its
report time stays in the past. Open cases go no further than being handled (处置中):
resolving needs evidence photos a generator has not got.

Rows go in with Core inserts of a day at a time; case numbers are ``LH`` + the day + a
six-digit sequence continuing after any number already given out that day, and the daily
counters are moved past them at the end so live numbering continues.
"""

from __future__ import annotations

import random
import uuid
from bisect import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from itertools import accumulate
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.orm import Session

from cityos.domains.cases.models import (
    Case,
    CaseCategory,
    CaseNumber,
    Channel,
    RequestType,
    RoutingRule,
)
from cityos.domains.cases.routing import matches
from cityos.domains.cases.service import PREFIX, SHANGHAI, WORKFLOW, act
from cityos.foundation.geo.models import StandardAddress
from cityos.foundation.identity.authz import Actor, Grant
from cityos.foundation.identity.models import Department, Scope, UserKind
from cityos.foundation.workflow import Assignment, WorkflowEvent, WorkflowInstance
from cityos.foundation.workflow import start as workflow_start
from cityos.foundation.workflow.definition import Duration
from cityos.kernel.calendar import WorkingCalendar, holiday_name
from cityos.kernel.clock import utcnow
from cityos.kernel.ids import new_id
from cityos.kernel.system import district_calendar

DEFAULT_DAYS = 365
DEFAULT_PER_DAY = 300
DEFAULT_SEED = 20261201
OnProgress = Callable[[int, int], None]

# The share of each channel (the mix), and the classes a sensor or video AI reports.
CHANNELS = ((Channel.HOTLINE, 45), (Channel.PORTAL, 25), (Channel.PATROL, 25), (Channel.IOT, 5))
IOT_CLASSES = {
    "0101": 2, "0102": 2, "0103": 2, "0105": 1, "0106": 1, "0107": 1,  # 井盖位移传感器
    "1505": 3, "1504": 2,  # 水位、管网液位
    "0109": 3,  # 单灯控制器
    "1304": 2, "1111": 2,  # 扬尘、噪声监测
    "1404": 4, "1402": 3,  # 视频 AI
}  # fmt: skip
# Relative weights of the classes that dominate; every other active class weighs BASE.
BASE_WEIGHT = 0.2
WEIGHTS = {
    "1101": 13, "1402": 9, "1201": 8, "1404": 7, "1403": 5, "1405": 4, "1103": 4,
    "1412": 3.5, "1407": 3, "1301": 3, "1401": 2.5, "1111": 2.5, "1110": 2, "0109": 2,
    "0101": 0.8, "0102": 0.8, "0103": 0.8, "0104": 0.8, "0105": 0.6, "0106": 0.6,
    "0107": 0.5, "1504": 1.5, "1505": 1, "1205": 1.2, "0208": 1.2, "1102": 1.2,
    "1114": 1, "0301": 1, "1113": 1, "1302": 1, "1304": 1, "1306": 1, "1601": 0.8,
    "1605": 0.6, "1112": 0.8, "1507": 0.4,
    "1501": 0.05, "1503": 0.03, "1508": 0.02, "1509": 0.01,
}  # fmt: skip
RAIN_MONTHS = frozenset({5, 6, 7, 8, 9})
# Class multipliers in the rain season, outside it, and on a rainstorm day on top.
RAIN_LIFT = {"1505": (5.0, 0.15), "1504": (2.5, 0.7), "0103": (1.8, 0.8), "0104": (2.5, 0.6),
             "1507": (3.0, 0.4), "1508": (4.0, 0.3), "1112": (2.5, 0.5), "1406": (1.8, 0.7),
             "1110": (1.3, 0.9)}  # fmt: skip
STORM_LIFT = {"1505": 10.0, "1504": 3.0, "1507": 4.0, "0104": 3.0, "1508": 3.0}
STORM_CHANCE = 0.07
# Shenzhen's year: busier in summer, quieter around the Spring Festival.
MONTH_VOLUME = (0.95, 0.85, 1.0, 1.02, 1.08, 1.15, 1.18, 1.15, 1.08, 0.98, 1.0, 0.97)
WEEKEND_VOLUME = 0.8
HOLIDAY_VOLUME = 0.7
SPRING_FESTIVAL_VOLUME = 0.45
# Subdistricts where the district floods first (as routing.yaml says): more waterlogging.
LOWLANDS = ("440303003", "440303005", "440303006", "440303010")
HOT_SPOTS = 12
HOT_SPOT_LIFT = 6.0
# When people call and when inspectors walk, by hour of the day (Asia/Shanghai).
CALL_HOURS = (0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.2, 2.5, 3.5, 3.6, 3.2,
              2.4, 2.6, 3.2, 3.3, 3.1, 2.8, 2.4, 2.6, 2.5, 2.0, 1.3, 0.7)  # fmt: skip
PATROL_HOURS = (0.0, 0, 0, 0, 0, 0, 0, 0.5, 3, 4, 4, 3, 0.5, 0.5, 3, 4, 4, 3, 1, 0.5, 0, 0, 0, 0)
SENSOR_HOURS = (1.0,) * 24
REQUEST_TYPES = ((RequestType.COMPLAINT, 55), (RequestType.REPORT, 22), (RequestType.HELP, 15),
                 (RequestType.SUGGESTION, 5), (RequestType.CONSULT, 3))  # fmt: skip
# Lead units' (p sign on time, p handle on time, share of the limit used, satisfaction
# shift); units not named draw theirs from the seed.
UNITS = {
    "urban-management": (0.96, 0.91, 0.5, 0.1),
    "water-affairs": (0.94, 0.87, 0.6, 0.0),
    "traffic-police": (0.86, 0.76, 0.75, -0.25),
    "housing-construction": (0.8, 0.68, 0.85, -0.45),
    "ecology-environment": (0.9, 0.82, 0.65, -0.1),
    "market-regulation": (0.92, 0.86, 0.6, 0.05),
    "emergency-management": (0.98, 0.95, 0.4, 0.2),
}
RETURN_CHANCE = 0.05
EXTENSION_CHANCE = 0.04
REWORK_CHANCE = 0.05
REJECT_CHANCE = 0.03
RATED_CHANCE = 0.85
# Open cases get a real workflow, which costs tens of milliseconds each: only those reported
# in the last hours are kept, the older ones still open at ``end`` are left out.
LIVE_WINDOW = timedelta(hours=4)
# Core inserts: the ORM's bulk path costs several times as much a row.
CASE_TABLE = cast(Table, Case.__table__)
DEMO_ACTOR = Actor.of(
    user_id=uuid.uuid5(uuid.NAMESPACE_URL, "cityos:demo-history"),
    username="demo-history",
    kind=UserKind.SYSTEM,
    grants=[
        Grant(role=role, scope=Scope.DISTRICT, permissions=frozenset({"cases.act"}))
        for role in ("dispatcher", "handler", "hotline-operator")
    ],
)
# The workflow steps that bring a live case to the state the simulation reached.
OPEN_STEPS = {"accepted": (), "registered": ("register",), "dispatched": ("register", "dispatch"),
              "handling": ("register", "dispatch", "sign")}  # fmt: skip

# Words of the reports, per class where the class is common, per kind otherwise; written for
# this project. {place} is the road of the report's address.
TEMPLATES: dict[str, tuple[tuple[str, str], ...]] = {
    "1101": (
        (
            "{place}垃圾堆放未清运",
            "{place}路边垃圾桶旁堆了很多生活垃圾，已经发臭，好几天没人清运。",
        ),
        ("{place}暴露垃圾", "{place}绿化带里有人丢弃大袋垃圾，影响市容，请安排清理。"),
    ),
    "1402": (
        ("{place}占道经营", "{place}人行道上有摊贩摆卖水果，行人只能走机动车道。"),
        ("{place}流动摊贩占道", "每天傍晚{place}路口都有小吃摊占道经营，油烟大，通行困难。"),
    ),
    "1201": (
        ("{place}小广告", "{place}楼道和电线杆上贴满了办证、通下水道的小广告。"),
        ("{place}乱贴广告", "{place}公交站亭被贴了很多小广告，清理后又被贴上。"),
    ),
    "1404": (
        ("{place}违停", "{place}有车辆长期停在人行道上，堵住了消防通道。"),
        ("{place}车辆乱停", "{place}双黄线旁边有多辆车违法停放，造成拥堵。"),
    ),
    "1403": (("{place}店外经营", "{place}餐馆把桌椅摆到人行道上营业，行人无法通过。"),),
    "1405": (("{place}共享单车乱停", "{place}地铁口共享单车堆成一片，挡住了出入口。"),),
    "1103": (("{place}路面不洁", "{place}路面有大片油污和泥浆，行人容易滑倒。"),),
    "1412": (("{place}占道堆物", "{place}有商户在人行道上堆放纸箱和杂物，长期不清理。"),),
    "1407": (("{place}电动车乱停", "{place}大量电动车停在盲道上，视障人士无法通行。"),),
    "1301": (("{place}夜间施工噪声", "{place}工地晚上十一点后还在施工，噪声很大，影响休息。"),),
    "1111": (("{place}商铺噪声", "{place}商铺用大喇叭循环播放促销广告，声音很大。"),),
    "1110": (("{place}油烟扰民", "{place}楼下餐馆油烟直排，住户窗户无法打开。"),),
    "0109": (("{place}路灯不亮", "{place}有几盏路灯晚上不亮，路面很黑，存在安全隐患。"),),
    "0101": (("{place}自来水井盖破损", "{place}人行道上的自来水井盖松动破损，踩上去会翻。"),),
    "0102": (("{place}污水井盖缺失", "{place}污水井盖不见了，井口敞开，非常危险。"),),
    "0103": (("{place}雨水井盖移位", "{place}雨水井盖移位，车辆经过时响声很大。"),),
    "0104": (("{place}雨水箅子堵塞", "{place}雨水箅子被落叶和垃圾堵住，下雨时排水不畅。"),),
    "1504": (("{place}下水道堵塞", "{place}下水道堵塞，污水漫到路面，味道很大。"),),
    "1505": (
        ("{place}路面积水", "{place}暴雨后积水没过脚踝，车辆熄火，行人无法通过。"),
        ("{place}内涝", "{place}地势低洼处积水严重，请尽快排水。"),
    ),
    "1507": (("{place}树木倒伏", "{place}大风后有一棵树倒在路上，挡住了车道。"),),
    "1113": (("{place}犬只扰民", "{place}有住户养的狗整夜吠叫，且遛狗不牵绳。"),),
    "1601": (("{place}流浪狗", "{place}附近有几只流浪狗，常追逐行人，小孩害怕。"),),
}
KIND_TEMPLATES = {
    "component": (("{place}{name}损坏", "{place}的{name}损坏，请相关部门尽快修复。"),
                  ("{place}{name}问题", "市民反映{place}附近{name}存在问题，影响使用。")),
    "event": (("{place}{name}", "{place}出现{name}问题，请相关部门尽快处理。"),
              ("{place}{name}问题反映", "市民反映{place}一带{name}情况较多，希望加强管理。")),
}  # fmt: skip
CHANNEL_LEAD = {
    Channel.PATROL: "网格员巡查发现：",
    Channel.IOT: "物联感知设备告警：",
    Channel.HOTLINE: "",
    Channel.PORTAL: "",
}


@dataclass(frozen=True)
class _Category:
    code: str
    kind: str
    name: str
    department: str
    sign: str
    handle: str


@dataclass(frozen=True)
class _Unit:
    sign_p: float
    handle_p: float
    pace: float
    satisfaction: float


@dataclass(frozen=True)
class _Place:
    grid: str
    community: str
    subdistrict: str
    road: str
    address: str
    lon: float
    lat: float


@dataclass
class _World:
    """What the generator reads from the loaded profile once, and its seeded draws."""

    rng: random.Random
    calendar: WorkingCalendar
    categories: dict[str, _Category]
    rules: list[tuple[str, str, str]]
    departments: dict[str, uuid.UUID]
    grids: list[str]
    grid_weights: list[float]
    flood_weights: list[float]
    places: dict[str, list[_Place]]
    units: dict[str, _Unit] = field(default_factory=dict)
    routes: dict[tuple[str, str], str | None] = field(default_factory=dict)


def synthetic_count(session: Session) -> int:
    """How many synthetic cases the database holds."""
    return int(session.scalar(select(func.count()).where(Case.synthetic.is_(True))) or 0)


def generate_history(
    session: Session,
    *,
    days: int = DEFAULT_DAYS,
    per_day: int = DEFAULT_PER_DAY,
    seed: int = DEFAULT_SEED,
    end: datetime | None = None,
    replace: bool = False,
    progress: OnProgress | None = None,
) -> int:
    """Write ``days`` days of synthetic cases up to ``end`` (now), about ``per_day`` a day;
    return how many. Nothing happens when synthetic cases exist, unless ``replace``, which
    deletes the synthetic cases (only those) first. Needs the profile's catalogue, routing
    table, departments and standard addresses loaded."""
    exists = session.scalar(select(Case.id).where(Case.synthetic.is_(True)).limit(1))
    if exists is not None:
        if not replace:
            return 0
        delete_synthetic(session)
    world = _world(session, seed)
    end = end or utcnow()
    last_day = end.astimezone(SHANGHAI).date()
    first_day = last_day - timedelta(days=days - 1)
    numbers = _last_numbers(session, first_day, last_day)
    written = 0
    live: list[tuple[uuid.UUID, str, dict[str, Any]]] = []
    for index in range(days):
        day = first_day + timedelta(days=index)
        rows, opened = _day(world, day, per_day=per_day, end=end, after=numbers.get(day, 0))
        if rows:
            session.execute(insert(CASE_TABLE), rows)
            numbers[day] = numbers.get(day, 0) + len(rows)
            written += len(rows)
        live.extend(opened)
        if progress is not None:
            progress(index + 1, days)
    _set_numbers(session, numbers, first_day, last_day)
    for case_id, state, limits in live:
        _run_live(session, case_id, state, limits)
    session.flush()
    return written


def delete_synthetic(session: Session) -> int:
    """Delete the synthetic cases (and the workflows of the live ones); return how many."""
    instances = select(Case.workflow_instance_id).where(
        Case.synthetic.is_(True), Case.workflow_instance_id.is_not(None)
    )
    session.execute(delete(WorkflowEvent).where(WorkflowEvent.instance_id.in_(instances)))
    session.execute(delete(WorkflowInstance).where(WorkflowInstance.id.in_(instances)))
    result = session.execute(delete(Case).where(Case.synthetic.is_(True)))
    return int(getattr(result, "rowcount", 0) or 0)


# --- the world -----------------------------------------------------------------------------


def _world(session: Session, seed: int) -> _World:
    rng = random.Random(seed)  # noqa: S311 - a repeatable demo, not a secret
    categories = {
        c.code: _Category(
            c.code, str(c.kind), c.name_zh, c.department_code, c.sign_limit, c.handle_limit
        )
        for c in session.scalars(select(CaseCategory).where(CaseCategory.active.is_(True)))
    }
    if not categories:
        raise LookupError("no case categories: load the district profile first")
    places: dict[str, list[_Place]] = {}
    for a in session.scalars(select(StandardAddress).order_by(StandardAddress.code)):
        text = f"{a.road}{a.number}号{a.building}{a.unit}"
        places.setdefault(a.grid_code, []).append(
            _Place(a.grid_code, a.community_code, a.subdistrict_code, a.road, text, a.lon, a.lat)
        )
    if not places:
        raise LookupError("no standard addresses: load the district profile first")
    grids = sorted(places)
    # Every grid its own level (some streets are busier), a few of them hot spots.
    weights = [rng.lognormvariate(0, 0.5) for _ in grids]
    for hot in rng.sample(range(len(grids)), min(HOT_SPOTS, len(grids))):
        weights[hot] *= HOT_SPOT_LIFT
    flood = [
        w * (3.0 if g.startswith(LOWLANDS) else 1.0) for g, w in zip(grids, weights, strict=True)
    ]
    rules = [
        (r.category_pattern, r.region_pattern, r.lead_department_code)
        for r in session.scalars(select(RoutingRule).order_by(RoutingRule.position))
    ]
    departments = dict(session.execute(select(Department.code, Department.id)).all())
    calendar = district_calendar(session)
    # A year's deadlines ask the calendar about the same few hundred days 200,000 times.
    setattr(calendar, "is_workday", cache(calendar.is_workday))  # noqa: B010 - not a method
    return _World(
        rng=rng,
        calendar=calendar,
        categories=categories,
        rules=rules,
        departments=departments,
        grids=grids,
        grid_weights=list(accumulate(weights)),
        flood_weights=list(accumulate(flood)),
        places=places,
    )


def _lead(world: _World, category: str, grid: str) -> str | None:
    """The lead unit ``routing.route`` names (the first matching rule, else the class's own
    unit), over the table read once: a year of history would read it 100,000 times."""
    key = (category, grid)
    if key not in world.routes:
        world.routes[key] = next(
            (
                lead
                for pattern, region, lead in world.rules
                if matches(pattern, category) and matches(region, grid)
            ),
            world.categories[category].department,
        )
    return world.routes[key]


def _unit(world: _World, code: str | None) -> _Unit:
    if code is None:
        return _Unit(0.9, 0.8, 0.6, 0.0)
    if code not in world.units:
        known = UNITS.get(code)
        if known is not None:
            world.units[code] = _Unit(*known)
        else:
            draw = random.Random(f"{world.rng.random()}:{code}")  # noqa: S311 - as above
            world.units[code] = _Unit(
                draw.uniform(0.82, 0.98),
                draw.uniform(0.68, 0.95),
                draw.uniform(0.4, 0.85),
                draw.uniform(-0.35, 0.2),
            )
    return world.units[code]


# --- a day ---------------------------------------------------------------------------------


def _volume(day: date, per_day: int, storm: bool, rng: random.Random) -> int:
    factor = MONTH_VOLUME[day.month - 1]
    holiday = holiday_name(day)
    if holiday == "Spring Festival":
        factor *= SPRING_FESTIVAL_VOLUME
    elif holiday is not None:
        factor *= HOLIDAY_VOLUME
    elif day.weekday() >= 5:
        factor *= WEEKEND_VOLUME
    if storm:
        factor *= 1.25
    return max(0, round(per_day * factor * rng.gauss(1.0, 0.08)))


@cache
def _mix(codes: tuple[str, ...], month: int, storm: bool) -> tuple[list[str], list[float]]:
    """The classes and their cumulative weights for a month (and a rainstorm day)."""
    rain = month in RAIN_MONTHS
    weights = []
    for code in codes:
        weight = WEIGHTS.get(code, BASE_WEIGHT)
        if code in RAIN_LIFT:
            weight *= RAIN_LIFT[code][0 if rain else 1]
        if storm:
            weight *= STORM_LIFT.get(code, 1.0)
        weights.append(weight)
    return list(codes), list(accumulate(weights))


def _pick(rng: random.Random, items: Sequence[Any], cumulative: Sequence[float]) -> Any:
    return items[bisect(cumulative, rng.random() * cumulative[-1])]


_CHANNELS = [c for c, _ in CHANNELS]
_CHANNEL_WEIGHTS = list(accumulate(w for _, w in CHANNELS))
_REQUESTS = [r for r, _ in REQUEST_TYPES]
_REQUEST_WEIGHTS = list(accumulate(w for _, w in REQUEST_TYPES))
_HOURS: dict[Channel, list[float]] = {
    Channel.HOTLINE: list(accumulate(CALL_HOURS)),
    Channel.PORTAL: list(accumulate(CALL_HOURS)),
    Channel.PATROL: list(accumulate(PATROL_HOURS)),
    Channel.IOT: list(accumulate(SENSOR_HOURS)),
}


def _day(
    world: _World, day: date, *, per_day: int, end: datetime, after: int
) -> tuple[list[dict[str, Any]], list[tuple[uuid.UUID, str, dict[str, Any]]]]:
    """The cases reported on ``day`` (those before ``end``), numbered after ``after``."""
    rng = world.rng
    storm = day.month in RAIN_MONTHS and rng.random() < STORM_CHANCE
    count = _volume(day, per_day, storm, rng)
    codes, mix = _mix(tuple(sorted(world.categories)), day.month, storm)
    iot_codes = [c for c in IOT_CLASSES if c in world.categories]
    iot_mix = list(accumulate(IOT_CLASSES[c] for c in iot_codes))
    drafts = []
    for _ in range(count):
        channel: Channel = _pick(rng, _CHANNELS, _CHANNEL_WEIGHTS)
        if channel is Channel.IOT and iot_codes:
            code = _pick(rng, iot_codes, iot_mix)
        else:
            code = _pick(rng, codes, mix)
        hour = bisect(_HOURS[channel], rng.random() * _HOURS[channel][-1])
        local = datetime.combine(day, time(hour), SHANGHAI) + timedelta(seconds=rng.randrange(3600))
        created = local.astimezone(end.tzinfo)
        if created < end:
            drafts.append((created, channel, code))
    drafts.sort(key=lambda d: d[0])
    rows: list[dict[str, Any]] = []
    opened: list[tuple[uuid.UUID, str, dict[str, Any]]] = []
    stamp = day.strftime("%Y%m%d")
    for created, channel, code in drafts:
        row, state = _case(world, created, channel, code, end)
        if state is not None and created < end - LIVE_WINDOW:
            continue
        row["number"] = f"{PREFIX}{stamp}{after + len(rows) + 1:06d}"
        rows.append(row)
        if state is not None:
            category = world.categories[code]
            limits = {"category": {"sign": category.sign, "handle": category.handle}}
            opened.append((row["id"], state, limits))
    return rows, opened


# --- one case ------------------------------------------------------------------------------


def _words(world: _World, code: str, channel: Channel, place: _Place) -> tuple[str, str]:
    category = world.categories[code]
    choices = TEMPLATES.get(code) or KIND_TEMPLATES.get(category.kind, KIND_TEMPLATES["event"])
    title, text = world.rng.choice(choices)
    values = {"place": place.road, "name": category.name}
    return title.format(**values)[:60], CHANNEL_LEAD[channel] + text.format(**values)


def _minutes(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(minutes=rng.uniform(low, high))


def _case(
    world: _World, created: datetime, channel: Channel, code: str, end: datetime
) -> tuple[dict[str, Any], str | None]:
    """One case's row, its loop simulated up to ``end``; with the state to bring it to
    through the workflow when it is still open then (None when closed)."""
    rng = world.rng
    category = world.categories[code]
    cumulative = world.flood_weights if code == "1505" else world.grid_weights
    grid = _pick(rng, world.grids, cumulative)
    place = rng.choice(world.places[grid])
    title, description = _words(world, code, channel, place)
    staff = channel in (Channel.PATROL, Channel.IOT)
    lead_code = _lead(world, code, grid)
    unit = _unit(world, lead_code)
    row: dict[str, Any] = {
        "id": new_id(),
        "channel": channel,
        "source_ref": None,
        "request_type": RequestType.REPORT if staff else _pick(rng, _REQUESTS, _REQUEST_WEIGHTS),
        "category_code": code,
        "suggested_category_code": None,
        "title": title,
        "description": description,
        "address": place.address,
        "lon": place.lon,
        "lat": place.lat,
        "region_code": place.grid,
        "community_code": place.community,
        "subdistrict_code": place.subdistrict,
        "outside_reason": None,
        "reporter_user_id": None,
        "reporter_phone_bidx": None,
        "status": "closed",
        "workflow_instance_id": None,
        "lead_department_id": None,
        "assist_department_ids": [],
        "master_case_id": None,
        "satisfaction": None,
        "reopened": 0,
        "due_at": None,
        "registered_at": None,
        "dispatched_at": None,
        "signed_at": None,
        "resolved_at": None,
        "closed_at": None,
        "signed_on_time": None,
        "handled_on_time": None,
        "closed_on_time": None,
        "handling_seconds": None,
        "returned_count": 0,
        "extension_count": 0,
        "rework_count": 0,
        "supervised_count": 0,
        "synthetic": True,
        "created_at": created,
        "updated_at": created,
    }
    if not staff and rng.random() < REJECT_CHANCE:
        # Not a matter for the district (a duplicate, a private dispute): not registered.
        closed = created + _minutes(rng, 10, 120)
        if closed > end:
            row["status"] = "accepted"
            return row, "accepted"
        row.update(status="rejected", closed_at=closed, updated_at=closed)
        return row, None
    calendar = world.calendar
    # Inspectors and sensors report straight into the system; calls wait for a dispatcher,
    # and the night's calls for the morning shift.
    registered = created + (_minutes(rng, 2, 20) if staff else _minutes(rng, 5, 90))
    local = registered.astimezone(SHANGHAI)
    if not staff and not 8 <= local.hour < 22:
        morning = datetime.combine(local.date(), time(8), SHANGHAI)
        if local.hour >= 22:
            morning += timedelta(days=1)
        registered = (morning + _minutes(rng, 0, 90)).astimezone(created.tzinfo)
    dispatched = registered + _minutes(rng, 3, 45)
    returned = rng.random() < RETURN_CHANCE * (2 - unit.sign_p)
    if returned:
        # The first unit sends it back; the dispatcher sends it on again.
        dispatched += _minutes(rng, 60, 360) + _minutes(rng, 30, 120)
    sign_due = _after(category.sign, dispatched, calendar)
    signed_on_time = rng.random() < unit.sign_p
    if signed_on_time:
        signed = dispatched + (sign_due - dispatched) * rng.uniform(0.05, 0.95)
    else:
        signed = sign_due + _minutes(rng, 10, 480)
    extended = rng.random() < EXTENSION_CHANCE
    handle_due = _after(category.handle, signed, calendar)
    if extended:
        handle_due = calendar.add_working_days(handle_due, rng.randint(2, 5))
    handled_on_time = rng.random() < unit.handle_p
    if handled_on_time:
        share = min(0.98, unit.pace * rng.uniform(0.3, 1.6))
        resolved = signed + (handle_due - signed) * share
    else:
        resolved = handle_due + _minutes(rng, 60, 60 * 72) / unit.pace
    reworked = rng.random() < REWORK_CHANCE * (2 - unit.handle_p)
    if reworked:
        resolved += _minutes(rng, 240, 1440)
        handled_on_time = handled_on_time and resolved <= handle_due
    supervised = 0 if handled_on_time else 1 + (resolved - handle_due > timedelta(days=2))
    verified = resolved + _minutes(rng, 20, 480)
    closed = verified + _minutes(rng, 30, 1440)
    steps = (
        ("registered", registered),
        ("dispatched", dispatched),
        ("handling", signed),
        ("handling", resolved),
        ("handling", verified),
        ("handling", closed),
    )
    if closed > end:
        reached = "accepted"
        for state, at in steps:
            if at <= end:
                reached = state
        row["status"] = "accepted"
        return row, reached
    rated = rng.random() < RATED_CHANCE
    satisfaction = None
    if rated:
        mood = 4.55 + unit.satisfaction - (1.3 if not handled_on_time else 0) - 0.5 * reworked
        satisfaction = max(1, min(5, round(rng.gauss(mood, 0.7))))
    row.update(
        lead_department_id=world.departments.get(lead_code) if lead_code else None,
        registered_at=registered,
        dispatched_at=dispatched,
        signed_at=signed,
        resolved_at=resolved,
        closed_at=closed,
        updated_at=closed,
        signed_on_time=signed_on_time,
        handled_on_time=handled_on_time,
        closed_on_time=signed_on_time and handled_on_time and supervised == 0,
        handling_seconds=int((resolved - dispatched).total_seconds()),
        returned_count=int(returned),
        extension_count=int(extended),
        rework_count=int(reworked),
        supervised_count=supervised,
        satisfaction=satisfaction,
    )
    return row, None


@cache
def _duration(text: str) -> Duration:
    return Duration.parse(text)


def _after(limit: str, start: datetime, calendar: WorkingCalendar) -> datetime:
    return _duration(limit).after(start, calendar)


# --- numbers and live cases ------------------------------------------------------------------


def _last_numbers(session: Session, first: date, last: date) -> dict[date, int]:
    days = [(first + timedelta(days=i)).strftime("%Y%m%d") for i in range((last - first).days + 1)]
    found = session.execute(select(CaseNumber.day, CaseNumber.last).where(CaseNumber.day.in_(days)))
    return {datetime.strptime(day, "%Y%m%d").date(): int(n) for day, n in found}


def _set_numbers(session: Session, numbers: dict[date, int], first: date, last: date) -> None:
    """Move each day's counter past the numbers given out, so live numbering continues."""
    existing = set(_last_numbers(session, first, last))
    now = utcnow()
    fresh = [
        {"day": d.strftime("%Y%m%d"), "last": n, "updated_at": now}
        for d, n in numbers.items()
        if d not in existing and n > 0
    ]
    if fresh:
        session.execute(insert(CaseNumber), fresh)
    for d in existing:
        session.execute(
            update(CaseNumber)
            .where(CaseNumber.day == d.strftime("%Y%m%d"), CaseNumber.last < numbers[d])
            .values(last=numbers[d], updated_at=now)
        )


def _run_live(session: Session, case_id: uuid.UUID, state: str, limits: dict[str, Any]) -> None:
    """Start the workflow of a case still open and take the steps the simulation reached."""
    case = session.get(Case, case_id)
    assert case is not None
    instance = workflow_start(
        session,
        workflow_id=WORKFLOW,
        subject_type="case",
        subject_id=str(case.id),
        actor=None,
        title=f"{case.number} {case.title}",
        region_code=case.region_code or "440303",
        assignment=Assignment(role="dispatcher"),
        parameters=limits,
        data={"channel": str(case.channel), "synthetic": True},
    )
    case.workflow_instance_id = instance.id
    case.status = instance.state
    case.due_at = instance.due_at
    session.flush()
    for action in OPEN_STEPS[state]:
        act(session, case_id=case.id, action=action, actor=DEMO_ACTOR)
