"""Running a contingency plan through ``/api/v1/plans``: started by hand or by a warning,
its linked tasks in the units' inboxes, answered there, raised, closed; and what is refused."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from cityos.foundation.identity.models import Scope, UserKind
from cityos.foundation.identity.tokens import issue_token
from tests.domains.cases.conftest import png, store
from tests.factories.identity import Assign, create_user
from tests.platforms.ioc.plans.conftest import Command, messages_to

RUNS = "/api/v1/plans/runs"
WARNINGS = "/api/v1/plans/warnings"


def _launch(client: TestClient, command: Command, **extra: Any) -> dict[str, Any]:
    body = {"plan": "rainstorm", "level": "IV", **extra}
    response = client.post(RUNS, json=body, headers=command.headers("duty"))
    assert response.status_code == 201, response.text
    return dict(response.json())


def _inbox(client: TestClient, command: Command, who: str) -> list[dict[str, Any]]:
    response = client.get("/api/v1/workflow/inbox", headers=command.headers(who))
    assert response.status_code == 200, response.text
    return [i for i in response.json()["items"] if i["workflow_id"] == "plan-task"]


def _act(
    client: TestClient, command: Command, who: str, instance: str, action: str, **body: Any
) -> Any:
    return client.post(
        f"/api/v1/workflow/instances/{instance}/actions/{action}",
        json=body,
        headers=command.headers(who),
    )


def test_a_plan_started_by_hand_sends_its_tasks_to_the_units_inboxes(
    client: TestClient, command: Command
) -> None:
    run = _launch(client, command, comment="值班员研判：短时强降雨")
    assert (run["status"], run["level"], run["drill"]) == ("active", "IV", False)
    assert sorted(t["department"] for t in run["tasks"]) == ["urban-management", "water-affairs"]
    water = next(t for t in run["tasks"] if t["department"] == "water-affairs")
    assert water["title"]["zh"] == "巡查易涝点并开启监测"
    assert water["report"]["zh"] == "已巡查点位数及积水情况"
    assert (water["state"], water["status"], water["overdue"]) == ("assigned", "open", False)
    assert [e["kind"] for e in run["timeline"]] == [
        "proposed",
        "started",
        "task_sent",
        "task_sent",
        "notified",
    ]
    # Each unit sees its own task, titled with the plan, and not the other unit's.
    titles = [i["title"] for i in _inbox(client, command, "water")]
    assert titles == ["【罗湖区暴雨内涝应急预案（演示）】巡查易涝点并开启监测"]
    assert len(_inbox(client, command, "urban")) == 1
    with command.runtime.unit_of_work() as session:
        assert len(messages_to(session, command.users["duty"], "plan-level-reached")) == 1


def test_a_unit_signs_reports_with_a_photo_and_finishes_on_the_timeline(
    client: TestClient, command: Command
) -> None:
    run = _launch(client, command)
    (item,) = _inbox(client, command, "water")
    assert _act(client, command, "water", item["id"], "sign").status_code == 200
    photo = {"kind": "photo", "sha256": store(command.runtime, png(3), "积水.png")}
    reported = _act(
        client,
        command,
        "water",
        item["id"],
        "report",
        comment="已巡查12个易涝点，2处积水约15厘米",
        attachments=[photo],
    )
    assert reported.status_code == 200, reported.text
    no_report = _act(client, command, "water", item["id"], "finish")
    assert (no_report.status_code, no_report.json()["code"]) == (422, "step_incomplete")
    done = _act(client, command, "water", item["id"], "finish", comment="积水已退，恢复通行")
    assert done.status_code == 200, done.text
    view = client.get(f"{RUNS}/{run['id']}", headers=command.headers("leader")).json()
    water = next(t for t in view["tasks"] if t["department"] == "water-affairs")
    assert (water["state"], water["status"]) == ("done", "done")
    assert water["finished_at"] is not None
    steps = [e for e in view["timeline"] if e["task_id"] == water["id"]]
    assert [e["kind"] for e in steps] == ["task_sent", "task_sign", "task_report", "task_finish"]
    assert steps[2]["data"]["comment"] == "已巡查12个易涝点，2处积水约15厘米"
    assert steps[2]["data"]["attachments"] == [photo["sha256"]]
    assert view["tasks_by_status"] == {"done": 1, "open": 1}


def test_raising_the_level_sends_the_new_tasks_once_and_lowering_keeps_them(
    client: TestClient, command: Command
) -> None:
    run = _launch(client, command)
    raised = client.post(
        f"{RUNS}/{run['id']}/level",
        json={"level": "II", "reason": "积水点增多，橙色预警"},
        headers=command.headers("duty"),
    ).json()
    assert raised["level"] == "II"
    by_level: dict[str, list[str]] = {}
    for task in raised["tasks"]:
        by_level.setdefault(task["level"], []).append(task["department"])
    # IV's two were already out; III's three and II's three join them, none twice.
    assert {level: len(units) for level, units in by_level.items()} == {"IV": 2, "III": 3, "II": 3}
    lowered = client.post(
        f"{RUNS}/{run['id']}/level",
        json={"level": "III", "reason": "雨势减弱"},
        headers=command.headers("duty"),
    ).json()
    assert (lowered["level"], len(lowered["tasks"])) == ("III", 8)
    assert [e["kind"] for e in lowered["timeline"]].count("level_raised") == 1
    assert [e["kind"] for e in lowered["timeline"]].count("level_lowered") == 1
    same = client.post(
        f"{RUNS}/{run['id']}/level",
        json={"level": "III", "reason": "x"},
        headers=command.headers("duty"),
    )
    assert (same.status_code, same.json()["code"]) == (409, "plan_level_unchanged")


def test_closing_cancels_open_tasks_and_a_closed_plan_takes_no_report(
    client: TestClient, command: Command
) -> None:
    run = _launch(client, command)
    (item,) = _inbox(client, command, "water")
    _act(client, command, "water", item["id"], "sign")
    empty = client.post(
        f"{RUNS}/{run['id']}/close", json={"summary": " "}, headers=command.headers("duty")
    )
    assert (empty.status_code, empty.json()["code"]) == (422, "step_incomplete")
    closed = client.post(
        f"{RUNS}/{run['id']}/close",
        json={"summary": "降雨结束，各易涝点积水已退，无人员伤亡。"},
        headers=command.headers("duty"),
    ).json()
    assert closed["status"] == "closed"
    assert {t["status"] for t in closed["tasks"]} == {"cancelled"}
    assert _inbox(client, command, "water") == []
    late = _act(client, command, "water", item["id"], "report", comment="补报")
    assert late.status_code == 409
    again = client.post(
        f"{RUNS}/{run['id']}/tasks",
        json={"department": "water-affairs", "do": "加派人手", "within": "30 minutes"},
        headers=command.headers("duty"),
    )
    assert (again.status_code, again.json()["code"]) == (409, "plan_run_not_active")


def test_a_task_the_plan_did_not_foresee_goes_to_the_unit_named(
    client: TestClient, command: Command
) -> None:
    run = _launch(client, command)
    added = client.post(
        f"{RUNS}/{run['id']}/tasks",
        json={"department": "urban-management", "do": "东门步行街设置沙袋", "within": "45 minutes"},
        headers=command.headers("duty"),
    )
    assert added.status_code == 200, added.text
    extra = [t for t in added.json()["tasks"] if t["title"]["zh"] == "东门步行街设置沙袋"]
    assert extra[0]["department"] == "urban-management"
    assert len(_inbox(client, command, "urban")) == 2
    for body, field in (
        ({"department": "no-such-unit", "do": "x", "within": "30 minutes"}, "department"),
        ({"department": "urban-management", "do": "x", "within": "2 working hours"}, "within"),
    ):
        refused = client.post(
            f"{RUNS}/{run['id']}/tasks", json=body, headers=command.headers("duty")
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"].endswith(field)


def test_one_open_run_a_plan_and_a_drill_beside_it(client: TestClient, command: Command) -> None:
    _launch(client, command)
    twice = client.post(
        RUNS, json={"plan": "rainstorm", "level": "IV"}, headers=command.headers("duty")
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "plan_run_open")
    drill = _launch(client, command, drill=True)
    assert drill["drill"] is True
    titles = [i["title"] for i in _inbox(client, command, "water")]
    assert "【演练】【罗湖区暴雨内涝应急预案（演示）】巡查易涝点并开启监测" in titles
    runs = client.get(RUNS, params={"status": "open"}, headers=command.headers("leader")).json()
    assert sorted(r["drill"] for r in runs["items"]) == [False, True]


def test_warnings_propose_start_or_raise_the_plan(client: TestClient, command: Command) -> None:
    yellow = client.post(
        WARNINGS,
        json={"type": "暴雨橙色预警", "source": "深圳市气象台"},
        headers=command.headers("duty"),
    )
    assert yellow.status_code == 201, yellow.text
    (run_id,) = yellow.json()["runs"]
    proposed = client.get(f"{RUNS}/{run_id}", headers=command.headers("duty")).json()
    assert (proposed["status"], proposed["level"], proposed["tasks"]) == ("proposed", "III", [])
    assert proposed["trigger"]["warning"] == "暴雨橙色预警"
    confirmed = client.post(
        f"{RUNS}/{run_id}/confirm", json={}, headers=command.headers("duty")
    ).json()
    assert (confirmed["status"], len(confirmed["tasks"])) == ("active", 5)
    # A red warning starts plans by itself: the active run is raised to level II.
    red = client.post(
        WARNINGS,
        json={"type": "暴雨红色预警", "source": "深圳市气象台", "text": "过去3小时雨量超100毫米"},
        headers=command.headers("duty"),
    ).json()
    assert red["runs"] == [run_id]
    raised = client.get(f"{RUNS}/{run_id}", headers=command.headers("duty")).json()
    assert (raised["level"], len(raised["tasks"])) == ("II", 8)
    listed = client.get(WARNINGS, headers=command.headers("leader")).json()["items"]
    assert [w["type"] for w in listed] == ["暴雨红色预警", "暴雨橙色预警"]


def test_a_proposed_run_can_be_dismissed_with_a_reason(
    client: TestClient, command: Command
) -> None:
    posted = client.post(
        WARNINGS,
        json={"type": "暴雨黄色预警", "source": "深圳市气象台"},
        headers=command.headers("duty"),
    ).json()
    (run_id,) = posted["runs"]
    dismissed = client.post(
        f"{RUNS}/{run_id}/dismiss",
        json={"reason": "降雨区域在罗湖以北，未影响辖区"},
        headers=command.headers("duty"),
    ).json()
    assert (dismissed["status"], dismissed["summary"]) == (
        "dismissed",
        "降雨区域在罗湖以北，未影响辖区",
    )
    after = client.post(f"{RUNS}/{run_id}/confirm", json={}, headers=command.headers("duty"))
    assert (after.status_code, after.json()["code"]) == (409, "plan_run_not_active")
    # With the proposal dismissed, the plan may be started again.
    assert _launch(client, command)["status"] == "active"


def test_reach_and_permissions(client: TestClient, command: Command) -> None:
    run = _launch(client, command)
    # A subdistrict's viewer does not reach a district-wide run.
    hidden = client.get(f"{RUNS}/{run['id']}", headers=command.headers("west"))
    assert (hidden.status_code, hidden.json()["code"]) == (404, "plan_run_not_found")
    assert client.get(RUNS, headers=command.headers("west")).json()["items"] == []
    # A leader may read but not run.
    start = client.post(
        RUNS, json={"plan": "rainstorm", "level": "IV"}, headers=command.headers("leader")
    )
    assert start.status_code == 403
    assert client.post(WARNINGS, json={"type": "x", "source": "y"}).status_code == 401
    unknown = client.post(
        RUNS, json={"plan": "typhoon", "level": "IV"}, headers=command.headers("duty")
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "plan_not_found")
    bad_level = client.post(
        RUNS, json={"plan": "rainstorm", "level": "V"}, headers=command.headers("duty")
    )
    assert bad_level.status_code == 422
    plans = client.get("/api/v1/plans", headers=command.headers("leader")).json()
    assert [(p["code"], p["levels"], p["synthetic"]) for p in plans] == [
        ("rainstorm", ["IV", "III", "II", "I"], True)
    ]


def test_the_big_screen_counts_running_proposed_and_drill_runs(
    client: TestClient, command: Command
) -> None:
    def plans() -> Any:
        tiles = client.get("/api/v1/ioc/kpis", headers=command.headers("leader"))
        assert tiles.status_code == 200, tiles.text
        return tiles.json()["plans"]

    assert plans() == {"running": 0, "proposed": 0, "drills": 0, "highest_level": None}
    run = _launch(client, command, level="III")
    _launch(client, command, drill=True)
    assert plans() == {"running": 1, "proposed": 0, "drills": 1, "highest_level": "III"}
    client.post(
        f"{RUNS}/{run['id']}/close", json={"summary": "结束"}, headers=command.headers("duty")
    )
    client.post(
        WARNINGS,
        json={"type": "暴雨黄色预警", "source": "深圳市气象台"},
        headers=command.headers("duty"),
    )
    assert plans() == {"running": 0, "proposed": 1, "drills": 1, "highest_level": None}


def test_level_iii_tells_the_residents_of_the_area_and_a_drill_tells_none(
    client: TestClient, command: Command
) -> None:
    with command.runtime.unit_of_work() as session:
        resident = create_user(
            session,
            "pl-resident",
            Assign("citizen", Scope.OWN, ["notify.read"]),
            kind=UserKind.CITIZEN,
        )
        token = issue_token(session, settings=command.runtime.settings, user=resident)
    home = {"kind": "home", "label": "家", "lon": 114.104, "lat": 22.536}
    placed = client.post(
        "/api/v1/notify/places", json=home, headers={"Authorization": f"Bearer {token}"}
    )
    assert placed.status_code == 201, placed.text
    area = {
        "type": "Polygon",
        "coordinates": [
            [[114.10, 22.53], [114.11, 22.53], [114.11, 22.54], [114.10, 22.54], [114.10, 22.53]]
        ],
    }
    drill = _launch(client, command, level="III", drill=True, area=area)
    assert [e["kind"] for e in drill["timeline"]].count("residents_not_told") == 1
    run = _launch(client, command, level="III", area=area)
    (told,) = [e for e in run["timeline"] if e["kind"] == "residents_notified"]
    assert told["data"]["recipients"] == 1
    messages = client.get(
        "/api/v1/notify/messages", headers={"Authorization": f"Bearer {token}"}
    ).json()["items"]
    assert [m["title"] for m in messages] == ["罗湖区暴雨内涝应急预案（演示）"]
    assert messages[0]["body"].startswith("区三防指挥部已启动暴雨Ⅲ级应急响应")
