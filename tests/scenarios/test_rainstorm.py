"""A rainstorm over Luohu, end to end (issue 7): the simulator's rainstorm raises the
waterlogging gauges, their rules raise alarms, the alarms propose the rainstorm plan, the
duty officer confirms it, the red warning raises it, the units find their tasks in their
inboxes and finish them, the residents are told, and the plan closes with its report. Each
step is checked in the records it leaves. Everything runs on the Luohu demo profile."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cityos.domains.cases.models import Case
from cityos.foundation.audit import AuditRecord
from cityos.foundation.identity.models import Department, Scope, User, UserKind
from cityos.foundation.identity.tokens import issue_token
from cityos.foundation.telemetry.alarm_models import Alarm
from cityos.foundation.telemetry.ingest import Reading, ingest
from cityos.foundation.telemetry.rules import forget_compiled_rules
from cityos.foundation.telemetry.simulate import readings_between, streams
from cityos.kernel import profiles
from cityos.kernel.bus.relay import drain
from cityos.kernel.clock import utcnow
from cityos.kernel.registry import Registry
from cityos.kernel.runtime import Runtime
from tests.factories.identity import Assign, create_user

FLOOD = ("water_depth", "rainfall", "river_level")
UNITS = ("water-affairs", "urban-management", "traffic-police", "emergency-management")
RUNS = "/api/v1/plans/runs"


def _storm(runtime: Runtime, started: datetime, until: datetime) -> int:
    """The flood sensors' readings from the storm's start until ``until``, stored in the
    simulator's direct way, a slice of 10 minutes at a time; returns how many."""
    stored = 0
    with runtime.unit_of_work() as session:
        flood = [s for s in streams(session) if s.property_code in FLOOD]
    slice_start = started
    while slice_start < until:
        slice_end = min(until, slice_start + timedelta(minutes=10))
        batch = readings_between(
            flood, slice_start, slice_end, scenario="rainstorm", started=started
        )
        ids = {(s.device_code, s.property_code): s.datastream_id for s in flood}
        with runtime.unit_of_work() as session:
            report = ingest(
                session,
                [
                    Reading(
                        phenomenon_time=datetime.fromisoformat(str(item["time"])),
                        result=item["value"],
                        datastream_id=ids[(code, str(item["property"]))],
                    )
                    for code, items in batch.items()
                    for item in items
                ],
            )
            stored += len(report.stored)
        slice_start = slice_end
    return stored


@pytest.fixture
def luohu(runtime: Runtime, client: TestClient, registry: Registry) -> dict[str, str]:
    forget_compiled_rules()
    with runtime.unit_of_work() as session:
        profiles.load(
            session, root=profiles.resolve("luohu"), registry=registry, settings=runtime.settings
        )
        people: dict[str, User] = {
            "duty": session.scalars(select(User).where(User.username == "duty")).one()
        }
        for code in UNITS:
            unit = session.scalars(select(Department).where(Department.code == code)).one()
            people[code] = create_user(
                session,
                f"rs-{code}",
                Assign("handler", Scope.JURISDICTION, [], ["440303"], unit.id),
            )
        people["resident"] = create_user(
            session, "rs-resident", Assign("citizen", Scope.OWN, []), kind=UserKind.CITIZEN
        )
        tokens = {
            name: issue_token(session, settings=runtime.settings, user=user)
            for name, user in people.items()
        }
    yield tokens
    forget_compiled_rules()


def _as(tokens: dict[str, str], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[who]}"}


def _plan_tasks(client: TestClient, tokens: dict[str, str], who: str) -> list[dict[str, Any]]:
    inbox = client.get("/api/v1/workflow/inbox", headers=_as(tokens, who)).json()["items"]
    return [item for item in inbox if item["workflow_id"] == "plan-task"]


def test_a_rainstorm_runs_the_plan_from_the_gauges_to_the_report(
    client: TestClient, runtime: Runtime, luohu: dict[str, str]
) -> None:
    tokens = luohu
    # A resident of 东门 follows their home for area notices.
    home = {"kind": "home", "label": "家", "lon": 114.1205, "lat": 22.5485}
    placed = client.post("/api/v1/notify/places", json=home, headers=_as(tokens, "resident"))
    assert placed.status_code == 201, placed.text

    # 1. The storm: 50 minutes of rising water at the flood-prone spots.
    now = utcnow()
    assert _storm(runtime, now - timedelta(minutes=50), now) > 500
    drain(runtime, limit=10_000)
    with runtime.unit_of_work() as session:
        waterlogging = session.scalar(
            select(func.count()).where(Alarm.type == "flood.waterlogging")
        )
        severe = session.scalar(
            select(func.count()).where(Alarm.type == "flood.waterlogging_severe")
        )
        # The waterlogging rule also opens a case for each alarm (category 1505).
        cases = session.scalar(select(func.count()).where(Case.category_code == "1505"))
    assert waterlogging is not None
    assert waterlogging >= 3
    assert cases == waterlogging
    assert severe is not None

    # 2. The alarms proposed the rainstorm plan; the duty officer confirms it at level III.
    (proposed,) = client.get(RUNS, params={"status": "open"}, headers=_as(tokens, "duty")).json()[
        "items"
    ]
    assert (proposed["plan"], proposed["status"], proposed["level"]) == (
        "rainstorm",
        "proposed",
        "IV",
    )
    assert proposed["trigger"]["kind"] == "alarm"
    assert proposed["trigger"]["count"] >= 3
    run_id = proposed["id"]
    confirmed = client.post(
        f"{RUNS}/{run_id}/confirm", json={"level": "III"}, headers=_as(tokens, "duty")
    )
    assert confirmed.status_code == 200, confirmed.text
    assert len(confirmed.json()["tasks"]) == 5

    # 3. The meteorological service's red warning raises the plan to level II by itself.
    warned = client.post(
        "/api/v1/plans/warnings",
        json={"type": "暴雨红色预警", "source": "深圳市气象台（模拟）"},
        headers=_as(tokens, "duty"),
    )
    assert warned.json()["runs"] == [run_id]
    run = client.get(f"{RUNS}/{run_id}", headers=_as(tokens, "duty")).json()
    assert (run["status"], run["level"], len(run["tasks"])) == ("active", "II", 8)
    names = {t["department"]: t["department_name"]["zh"] for t in run["tasks"]}
    assert names["water-affairs"] == "区水务局"
    sent_types = {e["data"]["type"] for e in run["timeline"] if e["kind"] == "resources_dispatched"}
    assert sent_types == {"drainage-team", "rescue-team", "shelter"}
    assert {r["properties"]["type"] for r in run["resources"]} == sent_types

    # 4. Four units find their tasks in their inboxes, sign and finish them with a report.
    for unit in UNITS:
        tasks = _plan_tasks(client, tokens, unit)
        assert tasks, f"{unit} has no plan task"
        for task in tasks:
            signed = client.post(
                f"/api/v1/workflow/instances/{task['id']}/actions/sign",
                json={},
                headers=_as(tokens, unit),
            )
            assert signed.status_code == 200, signed.text
            finished = client.post(
                f"/api/v1/workflow/instances/{task['id']}/actions/finish",
                json={"comment": f"{unit} 已完成：现场处置完毕"},
                headers=_as(tokens, unit),
            )
            assert finished.status_code == 200, finished.text
        assert _plan_tasks(client, tokens, unit) == []

    # 5. The resident was told at level III and again at level II.
    messages = client.get("/api/v1/notify/messages", headers=_as(tokens, "resident")).json()
    bodies = [m["body"] for m in messages["items"]]
    assert any("Ⅲ级应急响应" in b for b in bodies)
    assert any("Ⅱ级应急响应" in b for b in bodies)

    # 6. The plan closes with its report; what no unit finished is cancelled.
    closed = client.post(
        f"{RUNS}/{run_id}/close",
        json={"summary": "暴雨过程结束，易涝点积水已全部消退，转移群众已返回，无人员伤亡。"},
        headers=_as(tokens, "duty"),
    ).json()
    assert closed["status"] == "closed"
    done = {t["department"] for t in closed["tasks"] if t["status"] == "done"}
    assert set(UNITS) <= done
    assert {t["status"] for t in closed["tasks"] if t["department"] not in UNITS} == {"cancelled"}
    assert closed["resources"] == []
    kinds = [e["kind"] for e in closed["timeline"]]
    for step in (
        "proposed",
        "started",
        "residents_notified",
        "level_raised",
        "task_finish",
        "closed",
        "resources_released",
    ):
        assert step in kinds, step
    with runtime.unit_of_work() as session:
        audited = session.scalars(
            select(AuditRecord.action).where(AuditRecord.target_id == run_id)
        ).all()
    assert {"plan.propose", "plan.start", "plan.change_level", "plan.close"} <= set(audited)
