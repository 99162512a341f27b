"""Alarm rules through ``/api/v1/alarm-rules``: the profile's rules as loaded, read-only, for
everyone who reads alarms; their open-alarm and raised-device counts only within reach."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cityos.foundation.identity.models import Scope
from cityos.foundation.identity.tokens import issue_token
from cityos.foundation.telemetry.rules_api import condition_text
from cityos.kernel import profiles
from cityos.kernel.registry import Registry
from cityos.kernel.runtime import Runtime
from tests.factories.identity import Assign, create_user
from tests.foundation.telemetry.rules.conftest import gauge_device, send

API = "/api/v1/alarm-rules"
DROPPED = """
rules:
  - id: gauge-retired
    name: {zh: 旧规则, en: Old rule}
    device_type: test-gauge
    when: water_depth > 100
    severity: minor
"""
RULES = """
rules:
  - id: waterlogging-warning
    name: {zh: 积水预警, en: Waterlogging warning}
    type: flood.waterlogging
    device_type: test-gauge
    when: water_depth > 15
    clear: water_depth < 10 for 10 min
    severity: major
    escalate_after: 15 min
    open_case: {category: "1505"}
  - id: waterlogging-severe
    name: {zh: 严重积水, en: Severe waterlogging}
    device_type: test-gauge
    when: {all: [water_depth > 30, water_depth < 500], for: 5 min}
    severity: critical
    auto_clear: false
  - id: gauge-east-only
    name: {zh: 东门测点, en: Dongmen gauge}
    device_type: test-gauge
    devices: [WL-E]
    when: water_depth > 50
    during: "22:00-07:00"
    severity: warning
"""
DONGMEN = "440303001001001"
SUNGANG = "440303007002003"


def _headers(session: Session, runtime: Runtime, name: str, *assign: Assign) -> dict[str, str]:
    user = create_user(session, name, *assign)
    return {"Authorization": f"Bearer {issue_token(session, settings=runtime.settings, user=user)}"}


def _load(runtime: Runtime, registry: Registry, root: Path, text: str) -> None:
    folder = root / "packs" / "test"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rules.yaml").write_text(text, encoding="utf-8")
    with runtime.unit_of_work() as session:
        profiles.load(
            session,
            root=root,
            registry=Registry((registry.by_name("telemetry"),)),
            settings=runtime.settings,
        )


@pytest.fixture
def desk(runtime: Runtime, registry: Registry, tmp_path: Path) -> dict[str, Any]:
    with runtime.unit_of_work() as session:
        gauge_device(session, code="WL-0")  # the device type exists before the rules
    _load(runtime, registry, tmp_path / "profile", DROPPED)
    _load(runtime, registry, tmp_path / "profile", RULES)
    with runtime.unit_of_work() as session:
        east = gauge_device(session, code="WL-E", region_code=DONGMEN)
        north = gauge_device(session, code="WL-N", region_code=SUNGANG)
        session.flush()
        send(session, east, "water_depth", (0, 35), (6, 60))
        send(session, north, "water_depth", (0, 20))
        return {
            "district": _headers(
                session, runtime, "duty", Assign("duty", Scope.DISTRICT, ["alarms.read"])
            ),
            "dongmen": _headers(
                session,
                runtime,
                "dongmen",
                Assign("sub", Scope.JURISDICTION, ["alarms.read"], ["440303001"]),
            ),
            "devices-only": _headers(
                session,
                runtime,
                "keeper",
                Assign("keeper", Scope.DISTRICT, ["telemetry.devices.read"]),
            ),
        }


def test_the_rules_are_listed_as_the_profile_declares_them(
    client: TestClient, desk: dict[str, Any]
) -> None:
    answer = client.get(API, headers=desk["district"])
    assert answer.status_code == 200, answer.text
    rules = answer.json()
    assert [(r["id"], r["active"]) for r in rules] == [
        ("waterlogging-warning", True),
        ("waterlogging-severe", True),
        ("gauge-east-only", True),
        ("gauge-retired", False),
    ]
    warning, severe, east, _ = rules
    assert warning["name"] == {"zh": "积水预警", "en": "Waterlogging warning"}
    assert (warning["type"], warning["device_type"], warning["devices"]) == (
        "flood.waterlogging",
        "test-gauge",
        [],
    )
    assert (warning["condition"], warning["clear"], warning["duration_seconds"]) == (
        "water_depth > 15",
        "water_depth < 10 for 10 min",
        0,
    )
    assert (warning["severity"], warning["escalate_after"]) == ("major", "15 min")
    assert warning["open_case"] == {"category": "1505", "description": None}
    assert (severe["type"], severe["auto_clear"], severe["clear"]) == (
        "waterlogging-severe",
        False,
        None,
    )
    assert severe["condition"] == "(water_depth > 30) and (water_depth < 500) for 5 min"
    assert severe["duration_seconds"] == 300
    assert (east["devices"], east["during"], east["timezone"]) == (
        ["WL-E"],
        "22:00-07:00",
        "Asia/Shanghai",
    )


def test_open_alarm_counts_are_within_reach(client: TestClient, desk: dict[str, Any]) -> None:
    def counts(who: str) -> dict[str, int]:
        return {r["id"]: r["open_alarms"] for r in client.get(API, headers=desk[who]).json()}

    # WL-E raised the warning and, after holding 30 cm for 5 min, the severe rule; WL-N the
    # warning only. The east-only rule waits for the night.
    assert counts("district") == {
        "waterlogging-warning": 2,
        "waterlogging-severe": 1,
        "gauge-east-only": 0,
        "gauge-retired": 0,
    }
    assert counts("dongmen") == {
        "waterlogging-warning": 1,
        "waterlogging-severe": 1,
        "gauge-east-only": 0,
        "gauge-retired": 0,
    }


def test_one_rule_says_how_many_devices_it_watches_and_holds_raised(
    client: TestClient, desk: dict[str, Any]
) -> None:
    everywhere = client.get(f"{API}/waterlogging-warning", headers=desk["district"]).json()
    assert (everywhere["watched_devices"], everywhere["raised_devices"]) == (3, 2)
    assert everywhere["open_alarms"] == 2
    mine = client.get(f"{API}/waterlogging-warning", headers=desk["dongmen"]).json()
    assert (mine["watched_devices"], mine["raised_devices"], mine["open_alarms"]) == (1, 1, 1)
    narrowed = client.get(f"{API}/gauge-east-only", headers=desk["district"]).json()
    assert (narrowed["watched_devices"], narrowed["raised_devices"]) == (1, 0)
    missing = client.get(
        f"{API}/no-such-rule", headers={**desk["district"], "Accept-Language": "en"}
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "alarm_rule_not_found")
    assert missing.json()["title"] == "No such alarm rule"


def test_reading_rules_takes_alarms_read_and_nothing_edits_them(
    client: TestClient, desk: dict[str, Any]
) -> None:
    assert client.get(API).status_code == 401
    assert client.get(API, headers=desk["devices-only"]).status_code == 403
    assert (
        client.get(f"{API}/waterlogging-warning", headers=desk["devices-only"]).status_code == 403
    )
    # Rules change through the profile, in git: there is no door to write them here.
    assert client.post(API, json={}, headers=desk["district"]).status_code == 405
    changed = client.patch(f"{API}/waterlogging-warning", json={}, headers=desk["district"])
    assert changed.status_code == 405


def test_the_alarm_list_filters_by_rule(client: TestClient, desk: dict[str, Any]) -> None:
    found = client.get(
        "/api/v1/alarms",
        params={"rule": "waterlogging-warning", "open": "true"},
        headers=desk["district"],
    ).json()["items"]
    assert sorted(a["device_code"] for a in found) == ["WL-E", "WL-N"]
    assert {a["rule_id"] for a in found} == {"waterlogging-warning"}


def test_condition_mappings_read_as_one_line() -> None:
    assert condition_text("no data for 3 intervals") == "no data for 3 intervals"
    assert condition_text({"any": ["a > 1", "b < 2"]}) == "(a > 1) or (b < 2)"
    assert (
        condition_text({"kind": "anomaly", "model": "iforest", "for": "10 min"})
        == "anomaly(model=iforest) for 10 min"
    )
