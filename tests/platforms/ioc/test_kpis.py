"""The IOC screen's KPI tiles: what the district's cases, devices and alarms add up to,
per region, for those who reach it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cityos.domains.cases.models import Case, CaseCategory, CategoryKind, RoutingRule
from cityos.foundation.identity.models import Department, Scope
from cityos.foundation.identity.tokens import issue_token
from cityos.foundation.telemetry.alarm_models import Alarm, AlarmStatus, Severity
from cityos.foundation.workflow import WorkflowDef, register_definition
from cityos.kernel import profiles
from cityos.kernel.clock import utcnow
from cityos.kernel.registry import Registry
from cityos.kernel.runtime import Runtime
from tests.domains.cases.conftest import CASE_WORKFLOW, GEO_FIXTURE, GRID, INSIDE, png, store
from tests.factories.identity import Assign, create_user
from tests.factories.telemetry import device

API = "/api/v1/ioc/kpis"
CASES = "/api/v1/cases"
DISTRICT, WEST, EAST = "440303", "440303001", "440303002"
WEST_COMMUNITY = "440303001001"
IN_EAST = (114.13, 22.545)
CASE_WORK = [
    "cases.create",
    "cases.read",
    "cases.act",
    "workflow.inbox.read",
    "workflow.instances.act",
]


@dataclass
class Screen:
    runtime: Runtime
    tokens: dict[str, str]

    def headers(self, who: str, language: str = "zh-CN") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}", "Accept-Language": language}


def _places_and_loop(session: Session, runtime: Runtime, registry: Registry) -> uuid.UUID:
    """The geo engine's test district, the case loop, one category and one unit."""
    profiles.load(
        session,
        root=GEO_FIXTURE,
        registry=Registry((registry.by_name("geo"),)),
        settings=runtime.settings,
    )
    register_definition(
        session, WorkflowDef.model_validate(yaml.safe_load(CASE_WORKFLOW.read_text("utf-8")))
    )
    unit = Department(code="kpi-unit", name_zh="城管", name_en="Urban", kind="bureau")
    session.add(unit)
    session.add(
        CaseCategory(
            code="1401",
            kind=CategoryKind.EVENT,
            major_code="14",
            major_name_zh="街面秩序",
            major_name_en="Street order",
            name_zh="占道经营",
            name_en="Street vending",
            sign_limit="1 working hours",
            handle_limit="2 working days",
            department_code="kpi-unit",
        )
    )
    session.add(
        RoutingRule(
            position=1,
            category_pattern="*",
            region_pattern="*",
            lead_department_code="kpi-unit",
            assist_department_codes=[],
        )
    )
    session.flush()
    return unit.id


@pytest.fixture
def screen(runtime: Runtime, client: TestClient, registry: Registry) -> Screen:
    with runtime.unit_of_work() as session:
        unit = _places_and_loop(session, runtime, registry)
        users = {
            "operator": create_user(
                session, "kpi-op", Assign("hotline-operator", Scope.DISTRICT, CASE_WORK)
            ),
            "dispatcher": create_user(
                session, "kpi-disp", Assign("dispatcher", Scope.DISTRICT, CASE_WORK)
            ),
            "handler": create_user(
                session,
                "kpi-handler",
                Assign("handler", Scope.JURISDICTION, CASE_WORK, [DISTRICT], unit),
            ),
            "inspector": create_user(
                session, "kpi-insp", Assign("grid-inspector", Scope.JURISDICTION, CASE_WORK, [GRID])
            ),
            "leader": create_user(
                session, "kpi-leader", Assign("kpi-leader", Scope.DISTRICT, ["ioc.read"])
            ),
            "west": create_user(
                session, "kpi-west", Assign("kpi-west", Scope.JURISDICTION, ["ioc.read"], [WEST])
            ),
            "cases-only": create_user(
                session, "kpi-cases", Assign("kpi-cases", Scope.DISTRICT, ["cases.read"])
            ),
        }
        tokens = {
            name: issue_token(session, settings=runtime.settings, user=user)
            for name, user in users.items()
        }
    return Screen(runtime, tokens)


def _report(
    client: TestClient, screen: Screen, where: tuple[float, float], channel: str
) -> dict[str, Any]:
    body = {"channel": channel, "description": "路口有人占道摆摊", "lon": where[0], "lat": where[1]}
    answer = client.post(CASES, json=body, headers=screen.headers("operator"))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _act(
    client: TestClient, screen: Screen, who: str, case: dict[str, Any], action: str, **body: Any
) -> None:
    answer = client.post(
        f"{CASES}/{case['id']}/actions/{action}", json=body, headers=screen.headers(who)
    )
    assert answer.status_code == 200, answer.text


def _round_the_loop(
    client: TestClient, screen: Screen, case: dict[str, Any], satisfaction: int
) -> None:
    """Registered, dispatched, handled and verified in good time, then called back."""
    photo = {"kind": "photo_after", "sha256": store(screen.runtime, png(), "after.png")}
    _act(client, screen, "dispatcher", case, "register", data={"category": "1401"})
    _act(client, screen, "dispatcher", case, "dispatch")
    _act(client, screen, "handler", case, "sign")
    _act(client, screen, "handler", case, "resolve", attachments=[photo])
    _act(client, screen, "inspector", case, "verify_pass")
    _act(client, screen, "operator", case, "call_back", data={"satisfaction": satisfaction})


@pytest.fixture
def city(client: TestClient, screen: Screen) -> None:
    """West: a case closed on time and rated satisfied, one closed and rated middling
    (3 of 5), one past its registration deadline; East: one just reported. Five devices,
    four alarms (one of them cleared)."""
    _round_the_loop(client, screen, _report(client, screen, INSIDE, "hotline"), satisfaction=5)
    _round_the_loop(client, screen, _report(client, screen, INSIDE, "hotline"), satisfaction=3)
    late = _report(client, screen, INSIDE, "patrol")
    _report(client, screen, IN_EAST, "hotline")
    with screen.runtime.unit_of_work() as session:
        # Time is not ours to move: the case is left as the loop leaves one whose
        # registration deadline passed an hour ago.
        overdue = session.get(Case, uuid.UUID(late["id"]))
        assert overdue is not None
        overdue.due_at = utcnow() - timedelta(hours=1)
        things = {}
        for code, region, status in (
            ("KPI-W-1", f"{WEST}001001", "online"),
            ("KPI-W-2", f"{WEST}002001", "online"),
            ("KPI-W-3", f"{WEST}001002", "fault"),
            ("KPI-E-1", f"{EAST}001001", "offline"),
            ("KPI-E-2", f"{EAST}002001", "unknown"),
        ):
            thing = device(
                session, type_code="kpi-gauge", observes={}, code=code, region_code=region
            ).thing
            thing.status = status
            things[code] = thing
        session.flush()
        now = utcnow()
        for n, (code, severity, status) in enumerate(
            (
                ("KPI-W-1", Severity.CRITICAL, AlarmStatus.ACTIVE),
                ("KPI-W-3", Severity.MAJOR, AlarmStatus.ACKNOWLEDGED),
                ("KPI-W-2", Severity.WARNING, AlarmStatus.CLEARED),
                ("KPI-E-1", Severity.MINOR, AlarmStatus.ACTIVE),
            )
        ):
            thing = things[code]
            session.add(
                Alarm(
                    rule_id=f"kpi-rule-{n}",
                    type="waterlogging",
                    name_zh="积水",
                    name_en="Waterlogging",
                    severity=severity,
                    status=status,
                    thing_id=thing.id,
                    device_code=code,
                    region_code=thing.region_code,
                    raised_at=now,
                    last_raised_at=now,
                    cleared_at=now if status is AlarmStatus.CLEARED else None,
                    open_key=None if status is AlarmStatus.CLEARED else f"kpi-rule-{n}:{thing.id}",
                )
            )


def _tiles(client: TestClient, screen: Screen, who: str, **params: str) -> dict[str, Any]:
    answer = client.get(API, params=params, headers=screen.headers(who))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


@pytest.mark.usefixtures("city")
def test_the_district_tiles_add_up_what_happened_today(client: TestClient, screen: Screen) -> None:
    tiles = _tiles(client, screen, "leader")
    assert tiles["region"] == {
        "code": DISTRICT,
        "level": "district",
        "name_zh": "测试区",
        "name_en": "Test District",
    }
    cases = tiles["cases"]
    assert cases["reported_today"] == 4
    assert cases["reported_today_by_channel"]["hotline"] == 3
    assert cases["reported_today_by_channel"]["patrol"] == 1
    assert (cases["open"], cases["overdue"]) == (2, 1)
    assert (cases["closed"], cases["closed_on_time"], cases["on_time_closure_rate"]) == (2, 2, 1.0)
    assert (cases["rated"], cases["satisfied"], cases["satisfaction_rate"]) == (2, 1, 0.5)
    assert cases["window_days"] == 30
    assert tiles["devices"] == {
        "total": 5,
        "online": 2,
        "offline": 1,
        "fault": 1,
        "unknown": 1,
        "online_rate": 0.4,
    }
    assert tiles["alarms"] == {
        "open": 3,
        "by_severity": {"critical": 1, "major": 1, "minor": 1, "warning": 0},
        "acknowledged": 1,
        "unacknowledged": 2,
    }
    assert tiles["as_of"].endswith("Z")


@pytest.mark.usefixtures("city")
def test_a_subdistrict_viewer_sees_their_subdistrict_only(
    client: TestClient, screen: Screen
) -> None:
    own = _tiles(client, screen, "west")
    assert own["region"]["code"] == WEST
    assert (own["cases"]["reported_today"], own["cases"]["open"]) == (3, 1)
    assert own["cases"]["overdue"] == 1
    assert (own["devices"]["total"], own["devices"]["online"]) == (3, 2)
    assert own["alarms"]["open"] == 2
    assert own["alarms"]["by_severity"]["minor"] == 0
    asked = _tiles(client, screen, "west", region=WEST)
    assert asked["cases"] == own["cases"]
    community = _tiles(client, screen, "west", region=WEST_COMMUNITY)
    assert community["region"]["level"] == "community"
    assert community["devices"]["total"] == 2
    assert community["alarms"]["open"] == 2

    for elsewhere in (EAST, DISTRICT):
        refused = client.get(API, params={"region": elsewhere}, headers=screen.headers("west"))
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "region_out_of_reach"
        assert refused.json()["title"] == "该区域不在您的管辖范围内"
    english = client.get(API, params={"region": EAST}, headers=screen.headers("west", "en"))
    assert english.json()["title"] == "This region is outside your jurisdiction"


@pytest.mark.usefixtures("screen")
def test_an_empty_district_shows_zeros_and_no_rates(client: TestClient, screen: Screen) -> None:
    tiles = _tiles(client, screen, "leader", region=EAST)
    assert tiles["cases"]["reported_today"] == 0
    assert tiles["cases"]["on_time_closure_rate"] is None
    assert tiles["cases"]["satisfaction_rate"] is None
    assert tiles["devices"]["online_rate"] is None
    assert tiles["alarms"]["open"] == 0


def test_an_unknown_region_is_not_found(client: TestClient, screen: Screen) -> None:
    answer = client.get(API, params={"region": "440303099"}, headers=screen.headers("leader"))
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "region_not_found"


def test_the_tiles_need_a_token_and_the_permission(client: TestClient, screen: Screen) -> None:
    anonymous = client.get(API)
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "unauthenticated"
    without = client.get(API, headers=screen.headers("cases-only"))
    assert without.status_code == 403
    assert without.json()["code"] == "permission_denied"


@pytest.mark.usefixtures("city")
def test_the_trend_and_the_case_layer_agree_with_the_tiles(
    client: TestClient, screen: Screen
) -> None:
    headers = {"Authorization": f"Bearer {screen.tokens['leader']}"}
    trend = client.get("/api/v1/ioc/trend", params={"days": 7}, headers=headers).json()
    assert len(trend["days"]) == 7
    today = trend["days"][-1]
    assert (today["reported"], today["closed"]) == (4, 2)
    assert today["alarms"] == 4
    assert sum(d["reported"] for d in trend["days"][:-1]) == 0
    layer = client.get("/api/v1/ioc/cases", headers=headers).json()
    open_cases = layer["features"]
    assert len(open_cases) == 2
    assert sorted(f["properties"]["overdue"] for f in open_cases) == [False, True]
    # Most urgent first, and nothing personal on the map.
    assert open_cases[0]["properties"]["overdue"] is True
    assert set(open_cases[0]["properties"]) == {
        "number",
        "category_code",
        "status",
        "due_at",
        "overdue",
        "region_code",
    }
    west = {"Authorization": f"Bearer {screen.tokens['west']}"}
    theirs = client.get("/api/v1/ioc/cases", headers=west).json()["features"]
    assert all(f["properties"]["region_code"].startswith(WEST) for f in theirs)
    far = client.get("/api/v1/ioc/trend", params={"region": DISTRICT}, headers=west)
    assert (far.status_code, far.json()["code"]) == (403, "region_out_of_reach")
