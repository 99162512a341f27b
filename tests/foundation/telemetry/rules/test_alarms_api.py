"""Alarms through ``/api/v1/alarms``: listed within one's jurisdiction and filtered, paged,
acknowledged, annotated and cleared by hand with a note, each step audited; escalated by
their job when nobody acknowledges them in time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cityos.foundation.audit.models import AuditRecord
from cityos.foundation.identity.models import Scope
from cityos.foundation.identity.tokens import issue_token
from cityos.foundation.telemetry.alarm_models import Alarm
from cityos.foundation.telemetry.alarms import ESCALATE_JOB
from cityos.kernel import profiles
from cityos.kernel.clock import utcnow
from cityos.kernel.jobs import Job, run_pending
from cityos.kernel.registry import Registry
from cityos.kernel.runtime import Runtime
from tests.factories.identity import Assign, create_user
from tests.foundation.telemetry.rules.conftest import events, gauge_device, send

API = "/api/v1/alarms"
RULES = """
rules:
  - id: waterlogging-warning
    name: {zh: 积水预警, en: Waterlogging warning}
    device_type: test-gauge
    when: water_depth > 15
    clear: water_depth < 10
    severity: major
    escalate_after: 15 min
  - id: waterlogging-severe
    name: {zh: 严重积水, en: Severe waterlogging}
    device_type: test-gauge
    when: water_depth > 30
    severity: critical
"""
DONGMEN = "440303001001001"
SUNGANG = "440303007002003"


def _headers(session: Session, runtime: Runtime, name: str, *assign: Assign) -> dict[str, str]:
    user = create_user(session, name, *assign)
    return {"Authorization": f"Bearer {issue_token(session, settings=runtime.settings, user=user)}"}


@pytest.fixture
def desk(runtime: Runtime, load_rules_runtime: None) -> dict[str, Any]:
    with runtime.unit_of_work() as session:
        east = gauge_device(session, code="WL-E", region_code=DONGMEN)
        north = gauge_device(session, code="WL-N", region_code=SUNGANG)
        session.flush()
        send(session, east, "water_depth", (0, 35))
        send(session, north, "water_depth", (0, 20))
        everyone = ["alarms.read", "alarms.act"]
        return {
            "district": _headers(
                session, runtime, "duty", Assign("duty", Scope.DISTRICT, everyone)
            ),
            "dongmen": _headers(
                session,
                runtime,
                "dongmen",
                Assign("sub", Scope.JURISDICTION, everyone, ["440303001"]),
            ),
            "reader": _headers(
                session, runtime, "viewer", Assign("viewer", Scope.DISTRICT, ["alarms.read"])
            ),
        }


@pytest.fixture
def load_rules_runtime(runtime: Runtime, registry: Registry, tmp_path: Path) -> None:
    folder = tmp_path / "profile" / "packs" / "test"
    folder.mkdir(parents=True)
    (folder / "rules.yaml").write_text(RULES, encoding="utf-8")
    with runtime.unit_of_work() as session:
        gauge_device(session, code="WL-0")  # the device type exists before the rules
        profiles.load(
            session,
            root=tmp_path / "profile",
            registry=Registry((registry.by_name("telemetry"),)),
            settings=runtime.settings,
        )


def test_the_list_is_within_reach_filtered_and_paged(
    client: TestClient, desk: dict[str, Any]
) -> None:
    everything = client.get(API, headers=desk["district"]).json()["items"]
    assert sorted((a["device_code"], a["rule_id"]) for a in everything) == [
        ("WL-E", "waterlogging-severe"),
        ("WL-E", "waterlogging-warning"),
        ("WL-N", "waterlogging-warning"),
    ]
    mine = client.get(API, headers=desk["dongmen"]).json()["items"]
    assert {a["device_code"] for a in mine} == {"WL-E"}
    critical = client.get(API, params={"severity": "critical"}, headers=desk["district"])
    assert [a["rule_id"] for a in critical.json()["items"]] == ["waterlogging-severe"]
    region = client.get(API, params={"region": "440303007"}, headers=desk["district"])
    assert [a["device_code"] for a in region.json()["items"]] == ["WL-N"]
    typed = client.get(API, params={"device_type": "other"}, headers=desk["district"])
    assert typed.json()["items"] == []
    first = client.get(API, params={"limit": 2}, headers=desk["district"]).json()
    rest = client.get(
        API, params={"limit": 2, "cursor": first["next_cursor"]}, headers=desk["district"]
    ).json()
    assert [a["id"] for a in first["items"] + rest["items"]] == [a["id"] for a in everything]
    assert rest["next_cursor"] is None


def test_acknowledge_note_and_clear_by_hand(
    client: TestClient, desk: dict[str, Any], runtime: Runtime
) -> None:
    [alarm] = client.get(API, params={"region": "440303007"}, headers=desk["district"]).json()[
        "items"
    ]
    url = f"{API}/{alarm['id']}"
    # Out of reach: as if it did not exist.
    assert client.get(url, headers=desk["dongmen"]).json()["code"] == "alarm_not_found"
    refused = client.post(f"{url}/acknowledge", headers=desk["reader"])
    assert refused.status_code == 403
    done = client.post(f"{url}/acknowledge", json={"note": "已派人查看"}, headers=desk["district"])
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["acknowledged_by"]) == ("acknowledged", "duty")
    again = client.post(f"{url}/acknowledge", headers={**desk["district"], "Accept-Language": "en"})
    assert (again.status_code, again.json()["code"]) == (409, "alarm_not_active")
    assert again.json()["title"] == "Only an active alarm can be acknowledged"
    noted = client.post(f"{url}/notes", json={"note": "水泵已启动"}, headers=desk["district"])
    assert noted.status_code == 201
    assert (
        client.post(f"{url}/clear", json={"note": " "}, headers=desk["district"]).status_code == 422
    )
    cleared = client.post(f"{url}/clear", json={"note": "积水已排除"}, headers=desk["district"])
    body = cleared.json()
    assert (body["status"], body["cleared_by"]) == ("cleared", "duty")
    assert [(n["kind"], n["text"]) for n in body["notes"]] == [
        ("acknowledge", "已派人查看"),
        ("note", "水泵已启动"),
        ("clear", "积水已排除"),
    ]
    late = client.post(f"{url}/notes", json={"note": "补充"}, headers=desk["district"])
    assert (late.status_code, late.json()["code"]) == (409, "alarm_cleared")
    with runtime.unit_of_work() as session:
        audited = session.scalars(
            select(AuditRecord.action)
            .where(AuditRecord.target_id == alarm["id"])
            .order_by(AuditRecord.occurred_at, AuditRecord.id)
        )
        assert list(audited) == ["alarm.acknowledge", "alarm.note", "alarm.clear"]
        assert len(events(session, "alarm.cleared")) == 1


def test_an_alarm_nobody_acknowledges_is_escalated(
    desk: dict[str, Any], runtime: Runtime, client: TestClient
) -> None:
    with runtime.unit_of_work() as session:
        warnings = list(
            session.scalars(select(Alarm).where(Alarm.rule_id == "waterlogging-warning"))
        )
        jobs = list(session.scalars(select(Job).where(Job.name == ESCALATE_JOB)))
        # One timer per alarm with an escalation delay, due 15 minutes after raising.
        assert len(jobs) == 2
        for job in jobs:
            assert abs((job.due_at - utcnow()).total_seconds() - 900) < 60
        session.execute(update(Job).where(Job.name == ESCALATE_JOB).values(due_at=utcnow()))
    east = next(a for a in warnings if a.device_code == "WL-E")
    client.post(f"{API}/{east.id}/acknowledge", headers=desk["district"])
    run_pending(runtime, worker_id="w1")
    with runtime.unit_of_work() as session:
        escalated = {
            a.device_code: a.escalated_at is not None
            for a in session.scalars(select(Alarm).where(Alarm.rule_id == "waterlogging-warning"))
        }
        assert escalated == {"WL-E": False, "WL-N": True}
        [event] = events(session, "alarm.escalated")
        assert (event["device"]["code"], event["severity"]) == ("WL-N", "major")
