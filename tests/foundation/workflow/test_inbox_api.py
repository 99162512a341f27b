"""The unified inbox over HTTP: who sees a task, the red/yellow/green of its deadline and
the filters on it, paging, and one action on many tasks at once."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cityos.foundation.workflow import WorkflowInstance
from cityos.kernel.clock import utcnow
from cityos.kernel.runtime import Runtime
from tests.foundation.workflow.test_api import API, TRIAL, Trial, load_trial, post_action


@pytest.fixture
def people(runtime: Runtime) -> Trial:
    return load_trial(runtime)


def inbox(client: TestClient, headers: dict[str, str], **params: Any) -> Any:
    answer = client.get(f"{API}/inbox", params={"workflow": TRIAL.id, **params}, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def ids(page: Any) -> list[str]:
    return [item["id"] for item in page["items"]]


def test_a_task_shows_to_its_role_within_the_region_only(client: TestClient, people: Trial) -> None:
    task = people.start(title="东门路灯不亮")

    page = inbox(client, people.headers["clerk"])

    assert ids(page) == [task]
    assert page["total"] == 1
    item = page["items"][0]
    assert (item["title"], item["state"], item["state_name_zh"]) == ("东门路灯不亮", "a", "待受理")
    assert (item["workflow_name_zh"], item["region_code"]) == ("试办流程", "440303003001")
    assert item["assigned_to_me"] is False
    assert sorted(a["id"] for a in item["actions"]) == ["forward", "hand_over", "withdraw"]
    for outsider in ("elsewhere", "citizen", "checker"):
        assert inbox(client, people.headers[outsider]) == {"items": [], "total": 0}, outsider


def test_a_task_assigned_to_one_person_shows_to_them_alone(
    client: TestClient, people: Trial
) -> None:
    mine = people.start(assignee="assignee")
    shared = people.start()

    assert sorted(ids(inbox(client, people.headers["assignee"]))) == sorted([mine, shared])
    assert ids(inbox(client, people.headers["clerk"])) == [shared]
    item = next(i for i in inbox(client, people.headers["assignee"])["items"] if i["id"] == mine)
    assert item["assigned_to_me"] is True


def test_tasks_come_most_urgent_first_with_their_colour_and_filter_by_it(
    client: TestClient, people: Trial
) -> None:
    tasks = {
        name: people.start(title=f"{name} 任务") for name in ("green", "yellow", "red", "none")
    }
    now = utcnow()
    with people.runtime.unit_of_work() as session:
        for name, warn, due in [
            ("yellow", now - timedelta(hours=1), now + timedelta(hours=1)),
            ("red", now - timedelta(hours=2), now - timedelta(minutes=5)),
            ("none", None, None),
        ]:
            row = session.get(WorkflowInstance, uuid.UUID(tasks[name]))
            assert row is not None
            row.warn_at, row.due_at = warn, due

    page = inbox(client, people.headers["clerk"])

    assert [(i["id"], i["colour"]) for i in page["items"]] == [
        (tasks["red"], "red"),
        (tasks["yellow"], "yellow"),
        (tasks["green"], "green"),
        (tasks["none"], "none"),
    ]
    for colour in ("red", "yellow", "green", "none"):
        assert ids(inbox(client, people.headers["clerk"], colour=colour)) == [tasks[colour]]
    refused = client.get(f"{API}/inbox", params={"colour": "blue"}, headers=people.headers["clerk"])
    assert refused.status_code == 422


def test_the_inbox_filters_by_text_state_and_region_and_pages(
    client: TestClient, people: Trial
) -> None:
    lamp = people.start(title="东门路灯不亮")
    drain = people.start(title="井盖缺失 100%")
    deeper = people.start(title="井盖松动", region="440303003002")
    headers = people.headers["clerk"]
    post_action(client, headers, deeper, "forward", data={"note": "转交"})

    assert ids(inbox(client, headers, q="路灯")) == [lamp]
    assert ids(inbox(client, headers, q="100%")) == [drain]
    assert sorted(ids(inbox(client, headers, state="a"))) == sorted([lamp, drain])
    assert ids(inbox(client, headers, region="440303003002")) == []
    first = inbox(client, headers, limit=1)
    second = inbox(client, headers, limit=1, offset=1)
    assert (first["total"], second["total"]) == (2, 2)
    assert sorted(ids(first) + ids(second)) == sorted([lamp, drain])


def test_one_action_on_many_tasks_reports_each_and_applies_the_rest(
    client: TestClient, people: Trial
) -> None:
    headers = people.headers["clerk"]
    tasks = [people.start(title=f"批量 {n}") for n in range(3)]
    post_action(client, headers, tasks[1], "forward", data={"note": "先转"})

    answer = client.post(
        f"{API}/inbox/actions",
        json={"instance_ids": tasks, "action": "forward", "data": {"note": "批量转交"}},
        headers=headers,
    )

    assert answer.status_code == 200, answer.text
    results = answer.json()
    assert [(r["instance_id"], r["ok"], r["status"]) for r in results] == [
        (tasks[0], True, 200),
        (tasks[1], False, 409),
        (tasks[2], True, 200),
    ]
    assert results[1]["code"] == "action_not_allowed"
    assert results[1]["detail"]
    assert ids(inbox(client, headers)) == []
    checker = people.headers["checker"]
    assert sorted(ids(inbox(client, checker))) == sorted(tasks)
    for task, note in [(tasks[0], "批量转交"), (tasks[1], "先转"), (tasks[2], "批量转交")]:
        steps = client.get(f"{API}/instances/{task}", headers=checker).json()["history"]
        assert [s["action"] for s in steps] == ["start", "forward"]
        assert steps[-1]["data"] == {"note": note}


def test_a_bulk_action_missing_what_it_needs_fails_item_by_item(
    client: TestClient, people: Trial
) -> None:
    tasks = [people.start(), people.start()]

    answer = client.post(
        f"{API}/inbox/actions",
        json={"instance_ids": tasks, "action": "withdraw"},
        headers=people.headers["clerk"],
    )

    assert [(r["ok"], r["status"], r["code"]) for r in answer.json()] == [
        (False, 422, "step_incomplete"),
        (False, 422, "step_incomplete"),
    ]
    assert sorted(ids(inbox(client, people.headers["clerk"]))) == sorted(tasks)
