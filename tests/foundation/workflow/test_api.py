"""One task through ``/api/v1/workflow``: read it with its history, act on it, and the
refusals a caller can act on (409 with the actions allowed now, 403 with theirs, 422
naming what is missing, 409 on a stale version, 401 without a token)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from cityos.foundation.identity.models import Scope, User, UserKind
from cityos.foundation.identity.tokens import issue_token
from cityos.foundation.workflow import Assignment, WorkflowDef, register_definition, start
from cityos.kernel.runtime import Runtime
from tests.factories.identity import Assign, create_user

API = "/api/v1/workflow"
ACT = ["workflow.inbox.read", "workflow.instances.act"]
GRID = "440303003001"
CASE_WORKFLOW = Path(__file__).parents[3] / "src/cityos/profiles/luohu/packs/cases/workflow.yaml"
LIMITS = {"category": {"sign": "1 working hours", "handle": "2 working days"}}

# a → b → done: forwarding needs a note, finishing a photo, withdrawing a comment; handing
# over names the colleague who takes the task.
TRIAL = WorkflowDef.model_validate(
    {
        "id": "api-trial",
        "version": 1,
        "name": {"zh": "试办流程", "en": "Trial"},
        "start": "a",
        "states": {
            "a": {"name": {"zh": "待受理", "en": "Waiting"}, "limit": "2 hours"},
            "b": {"name": {"zh": "待办结", "en": "Checking"}, "limit": "1 days"},
            "done": {"name": {"zh": "已办结", "en": "Done"}, "terminal": True},
        },
        "actions": [
            {
                "id": "forward",
                "name": {"zh": "转交", "en": "Forward"},
                "from": "a",
                "to": "b",
                "roles": ["wf-clerk"],
                "requires": ["note"],
                "assign": {"role": "wf-checker"},
            },
            {
                "id": "hand_over",
                "name": {"zh": "转办", "en": "Hand over"},
                "from": "a",
                "to": "a",
                "roles": ["wf-clerk", "wf-checker"],
                "requires": ["to"],
                "assign": {"field": "to"},
            },
            {
                "id": "withdraw",
                "name": {"zh": "撤回", "en": "Withdraw"},
                "from": "a",
                "to": "done",
                "roles": ["wf-clerk"],
                "comment_required": True,
            },
            {
                "id": "finish",
                "name": {"zh": "办结", "en": "Finish"},
                "from": "b",
                "to": "done",
                "roles": ["wf-checker"],
                "attachments": ["photo_after"],
            },
        ],
    }
)


@dataclass(frozen=True)
class Trial:
    """The trial workflow loaded, and people meeting it, each with their bearer headers."""

    runtime: Runtime
    users: dict[str, User]
    headers: dict[str, dict[str, str]]

    def start(
        self, *, title: str = "东门路灯不亮", region: str = GRID, assignee: str | None = None
    ) -> str:
        """A new trial task waiting for clerks in ``region`` (or only for ``assignee``)."""
        user_id = self.users[assignee].id if assignee else None
        with self.runtime.unit_of_work() as session:
            instance = start(
                session,
                workflow_id=TRIAL.id,
                subject_type="trial",
                subject_id=uuid.uuid4().hex,
                actor=None,
                title=title,
                region_code=region,
                assignment=Assignment(role="wf-clerk", user_id=user_id),
            )
            return str(instance.id)


@pytest.fixture
def trial(runtime: Runtime) -> Trial:
    return load_trial(runtime)


def load_trial(runtime: Runtime) -> Trial:
    """The trial workflow with two clerks of subdistrict 440303003, a clerk of another
    subdistrict, a district-wide checker and a citizen, each with their bearer headers."""
    with runtime.unit_of_work() as session:
        register_definition(session, TRIAL)
        users = {
            "clerk": create_user(
                session, "wf-clerk-1", Assign("wf-clerk", Scope.JURISDICTION, ACT, ["440303003"])
            ),
            "assignee": create_user(
                session, "wf-clerk-2", Assign("wf-clerk", Scope.JURISDICTION, ACT, ["440303003"])
            ),
            "elsewhere": create_user(
                session, "wf-clerk-3", Assign("wf-clerk", Scope.JURISDICTION, ACT, ["440303001"])
            ),
            "checker": create_user(
                session, "wf-checker-1", Assign("wf-checker", Scope.DISTRICT, ACT)
            ),
            "citizen": create_user(
                session,
                "wf-resident",
                Assign("wf-citizen", Scope.OWN, ACT),
                kind=UserKind.CITIZEN,
            ),
        }
        headers = {
            name: bearer(issue_token(session, settings=runtime.settings, user=user))
            for name, user in users.items()
        }
    return Trial(runtime=runtime, users=users, headers=headers)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def post_action(
    client: TestClient, headers: dict[str, str], instance_id: str, action: str, **body: Any
) -> Any:
    return client.post(
        f"{API}/instances/{instance_id}/actions/{action}", json=body, headers=headers
    )


def test_the_instance_comes_with_its_history_and_the_actions_open_to_the_reader(
    client: TestClient, trial: Trial
) -> None:
    task = trial.start()
    forwarded = post_action(
        client, trial.headers["clerk"], task, "forward", comment="请复核", data={"note": "已到场"}
    )
    assert forwarded.status_code == 200, forwarded.text

    answer = client.get(f"{API}/instances/{task}", headers=trial.headers["checker"])

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["state"], body["state_name_zh"], body["state_name_en"]) == (
        "b",
        "待办结",
        "Checking",
    )
    assert (body["workflow_name_zh"], body["workflow_name_en"]) == ("试办流程", "Trial")
    assert body["assignee_role"] == "wf-checker"
    assert [a["id"] for a in body["actions"]] == ["finish"]
    assert body["actions"][0]["name_zh"] == "办结"
    steps = [(e["seq"], e["action"], e["from_state"], e["to_state"]) for e in body["history"]]
    assert steps == [(0, "start", None, "a"), (1, "forward", "a", "b")]
    last = body["history"][-1]
    assert (last["actor"], last["comment"], last["data"]) == (
        "wf-clerk-1",
        "请复核",
        {"note": "已到场"},
    )


def test_a_task_is_hidden_from_those_it_does_not_wait_for(client: TestClient, trial: Trial) -> None:
    task = trial.start()
    for outsider in ("elsewhere", "citizen", "checker"):
        answer = client.get(f"{API}/instances/{task}", headers=trial.headers[outsider])
        assert answer.status_code == 404, outsider


def test_an_action_moves_the_task_on_and_closes_it_at_the_end(
    client: TestClient, trial: Trial
) -> None:
    task = trial.start()
    forwarded = post_action(
        client, trial.headers["clerk"], task, "forward", expected_version=1, data={"note": "已核实"}
    )
    assert forwarded.status_code == 200, forwarded.text
    moved = forwarded.json()
    assert moved["state"] == "b"
    assert moved["version"] > 1

    finished = post_action(
        client,
        trial.headers["checker"],
        task,
        "finish",
        expected_version=moved["version"],
        attachments=[{"kind": "photo_after", "file_id": "f-1"}],
    )

    assert finished.status_code == 200, finished.text
    body = finished.json()
    assert body["state"] == "done"
    assert body["closed_at"] is not None
    assert body["actions"] == []
    assert body["history"][-1]["attachments"] == [{"kind": "photo_after", "file_id": "f-1"}]


def test_an_action_not_open_in_this_state_answers_409_with_those_that_are(
    client: TestClient, trial: Trial
) -> None:
    task = trial.start()

    answer = post_action(client, trial.headers["clerk"], task, "finish")

    assert answer.status_code == 409
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["code"] == "action_not_allowed"
    assert problem["state"] == "a"
    assert sorted(problem["allowed_actions"]) == ["forward", "hand_over", "withdraw"]


def test_an_action_of_another_role_answers_403_with_the_callers_own(
    client: TestClient, trial: Trial
) -> None:
    task = trial.start()

    answer = post_action(client, trial.headers["checker"], task, "forward", data={"note": "x"})

    assert answer.status_code == 403
    problem = answer.json()
    assert problem["code"] == "action_forbidden"
    assert problem["your_actions"] == ["hand_over"]


def test_what_an_action_needs_is_named_field_by_field(client: TestClient, trial: Trial) -> None:
    task = trial.start()

    no_note = post_action(client, trial.headers["clerk"], task, "forward", data={"note": "  "})
    no_comment = post_action(client, trial.headers["clerk"], task, "withdraw")
    post_action(client, trial.headers["clerk"], task, "forward", data={"note": "到场"})
    no_photo = post_action(
        client,
        trial.headers["checker"],
        task,
        "finish",
        attachments=[{"kind": "photo_before", "file_id": "f-0"}],
    )

    for answer, field in [
        (no_note, "data.note"),
        (no_comment, "comment"),
        (no_photo, "attachments.photo_after"),
    ]:
        assert answer.status_code == 422, field
        assert answer.json()["code"] == "step_incomplete"
        assert answer.json()["title"] == "办理此操作还缺少必填内容或附件"
        assert [e["field"] for e in answer.json()["errors"]] == [field]


def test_acting_on_a_version_someone_else_moved_on_answers_409(
    client: TestClient, trial: Trial
) -> None:
    task = trial.start()
    seen = client.get(f"{API}/instances/{task}", headers=trial.headers["clerk"]).json()["version"]
    taken = post_action(
        client,
        trial.headers["assignee"],
        task,
        "hand_over",
        expected_version=seen,
        data={"to": str(trial.users["assignee"].id)},
    )
    assert taken.status_code == 200, taken.text

    late = post_action(
        client, trial.headers["clerk"], task, "withdraw", expected_version=seen, comment="重复"
    )

    assert late.status_code == 409
    assert late.json()["code"] == "stale_version"
    assert late.json()["current_version"] == taken.json()["version"]


def test_the_real_case_loop_asks_for_a_reason_and_a_department(
    client: TestClient, trial: Trial
) -> None:
    runtime = trial.runtime
    with runtime.unit_of_work() as session:
        register_definition(
            session, WorkflowDef.model_validate(yaml.safe_load(CASE_WORKFLOW.read_text("utf-8")))
        )
        dispatcher = create_user(
            session, "wf-dispatch", Assign("dispatcher", Scope.JURISDICTION, ACT, ["440303003"])
        )
        headers = bearer(issue_token(session, settings=runtime.settings, user=dispatcher))
        case = start(
            session,
            workflow_id="case",
            subject_type="engine-test",  # the real definition, no case row or hooks
            subject_id=uuid.uuid4().hex,
            actor=None,
            title="东门步行街井盖缺失",
            region_code=GRID,
            parameters=LIMITS,
            assignment=Assignment(role="dispatcher"),
        )
        task = str(case.id)

    shown = client.get(f"{API}/instances/{task}", headers=headers).json()
    assert shown["state_name_zh"] == "待立案"
    assert [a["id"] for a in shown["actions"]] == ["register", "reject", "merge"]
    refused = post_action(client, headers, task, "reject")
    assert [e["field"] for e in refused.json()["errors"]] == ["comment"]
    registered = post_action(client, headers, task, "register")
    assert registered.json()["state"] == "registered"
    undirected = post_action(client, headers, task, "dispatch")
    assert undirected.status_code == 422
    assert [e["field"] for e in undirected.json()["errors"]] == ["data.department"]


def test_without_a_token_every_workflow_route_answers_401(client: TestClient) -> None:
    some = uuid.uuid4()
    for method, path, body in [
        ("GET", "/inbox", None),
        ("GET", f"/instances/{some}", None),
        ("POST", f"/instances/{some}/actions/forward", {}),
        ("POST", "/inbox/actions", {"instance_ids": [str(some)], "action": "forward"}),
    ]:
        answer = client.request(method, f"{API}{path}", json=body)
        assert answer.status_code == 401, (method, path)
        assert answer.headers["content-type"] == "application/problem+json"


def test_a_refusal_is_titled_in_chinese_first(client: TestClient, trial: Trial) -> None:
    task = trial.start()
    answer = post_action(client, trial.headers["clerk"], task, "finish")
    assert answer.json()["title"] == "当前环节不能办理此操作"
    english = client.post(
        f"{API}/instances/{task}/actions/finish",
        json={},
        headers={**trial.headers["clerk"], "Accept-Language": "en"},
    )
    assert english.json()["title"] == "This action cannot be taken at this step"
