"""The engine runs the city-case loop: who may act, what each step needs, deadlines in
working time, timers and escalation, versions, and one winner when two act at once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.identity.authz import Actor, load_actor
from cityos.foundation.identity.models import Department, Scope
from cityos.foundation.workflow import (
    Assignment,
    WorkflowDef,
    WorkflowInstance,
    act,
    available_actions,
    history,
    register_definition,
    start,
)
from cityos.foundation.workflow import service as workflow_service
from cityos.foundation.workflow.jobs import run_timer
from cityos.foundation.workflow.service import state_deadlines
from cityos.kernel.errors import Conflict, PermissionDenied, ValidationFailed
from cityos.kernel.runtime import Runtime
from cityos.kernel.system import district_calendar
from tests.factories.identity import Assign, create_user

CASE_WORKFLOW = Path(__file__).parents[3] / "src/cityos/profiles/luohu/packs/cases/workflow.yaml"
ACT = ["workflow.inbox.read", "workflow.instances.act"]
GRID = "440303003001001"
LIMITS = {"category": {"sign": "1 working hours", "handle": "2 working days"}}


@dataclass
class People:
    dispatcher: Actor
    handler: Actor
    other_unit: Actor
    other_area: Actor
    inspector: Actor
    operator: Actor


@pytest.fixture
def people(runtime: Runtime) -> Iterator[tuple[Session, People]]:
    with runtime.unit_of_work() as session:
        register_definition(
            session, WorkflowDef.model_validate(yaml.safe_load(CASE_WORKFLOW.read_text("utf-8")))
        )
        units = {}
        for code in ("wf-urban", "wf-water"):
            unit = Department(code=code, name_zh=code, name_en=code, kind="bureau")
            session.add(unit)
            session.flush()
            units[code] = unit.id
        users = {
            "dispatcher": create_user(session, "wf-d", Assign("dispatcher", Scope.DISTRICT, ACT)),
            "handler": create_user(
                session,
                "wf-h",
                Assign("handler", Scope.JURISDICTION, ACT, ["440303"], units["wf-urban"]),
            ),
            "other_unit": create_user(
                session,
                "wf-h2",
                Assign("handler", Scope.JURISDICTION, ACT, ["440303"], units["wf-water"]),
            ),
            "other_area": create_user(
                session,
                "wf-h3",
                Assign("handler", Scope.JURISDICTION, ACT, ["440303001"], units["wf-urban"]),
            ),
            "inspector": create_user(
                session, "wf-i", Assign("grid-inspector", Scope.JURISDICTION, ACT, [GRID])
            ),
            "operator": create_user(
                session, "wf-o", Assign("hotline-operator", Scope.DISTRICT, ACT)
            ),
        }
        declared = runtime.registry.permissions()
        actors = {
            name: load_actor(session, user_id=user.id, declared=declared)
            for name, user in users.items()
        }
        assert all(actors.values())
        yield session, People(**actors)  # type: ignore[arg-type]


def _case(session: Session, people: People) -> WorkflowInstance:
    return start(
        session,
        workflow_id="case",
        subject_type="engine-test",  # the real definition, no case row or hooks
        subject_id=uuid.uuid4().hex,
        actor=people.operator,
        title="东门步行街井盖缺失",
        region_code=GRID,
        parameters=LIMITS,
        assignment=Assignment(role="dispatcher"),
    )


def _to_handling(session: Session, people: People) -> WorkflowInstance:
    case = _case(session, people)
    act(session, instance_id=case.id, action="register", actor=people.dispatcher)
    act(
        session,
        instance_id=case.id,
        action="dispatch",
        actor=people.dispatcher,
        data={"department": "wf-urban"},
    )
    return act(session, instance_id=case.id, action="sign", actor=people.handler)


def test_a_case_goes_round_the_loop_and_the_history_tells_it(
    people: tuple[Session, People],
) -> None:
    session, p = people
    case = _to_handling(session, p)
    with pytest.raises(ValidationFailed) as missing:
        act(session, instance_id=case.id, action="resolve", actor=p.handler)
    assert missing.value.errors == [
        {"field": "attachments.photo_after", "message": "required", "type": "missing"}
    ]
    act(
        session,
        instance_id=case.id,
        action="resolve",
        actor=p.handler,
        attachments=[{"kind": "photo_after", "file_id": "f-1"}],
    )
    act(session, instance_id=case.id, action="verify_pass", actor=p.inspector)
    with pytest.raises(ValidationFailed, match=r"data\.satisfaction"):
        act(session, instance_id=case.id, action="call_back", actor=p.operator)
    done = act(
        session,
        instance_id=case.id,
        action="call_back",
        actor=p.operator,
        data={"satisfaction": 5},
    )
    assert done.state == "closed"
    assert done.closed_at is not None
    steps = [
        (e.seq, e.action, e.from_state, e.to_state, e.actor) for e in history(session, case.id)
    ]
    assert steps == [
        (0, "start", None, "accepted", "wf-o"),
        (1, "register", "accepted", "registered", "wf-d"),
        (2, "dispatch", "registered", "dispatched", "wf-d"),
        (3, "sign", "dispatched", "handling", "wf-h"),
        (4, "resolve", "handling", "verifying", "wf-h"),
        (5, "verify_pass", "verifying", "callback", "wf-i"),
        (6, "call_back", "callback", "closed", "wf-o"),
    ]


def test_an_action_not_allowed_now_lists_what_is(people: tuple[Session, People]) -> None:
    session, p = people
    case = _case(session, p)
    with pytest.raises(Conflict) as refused:
        act(session, instance_id=case.id, action="sign", actor=p.handler)
    assert refused.value.code == "action_not_allowed"
    assert refused.value.extra["allowed_actions"] == ["register", "reject", "merge"]


def test_a_process_that_never_parsed_the_definition_reads_it_again(
    people: tuple[Session, People], monkeypatch: pytest.MonkeyPatch
) -> None:
    session, p = people
    case = _case(session, p)
    # As after a restart: the instance names its definition's hash, this process has none.
    monkeypatch.setattr(workflow_service, "_PARSED", {})
    act(session, instance_id=case.id, action="register", actor=p.dispatcher)
    assert case.state == "registered"
    assert case.definition_hash in workflow_service._PARSED


def test_only_the_dispatched_unit_in_its_area_may_sign(people: tuple[Session, People]) -> None:
    session, p = people
    case = _case(session, p)
    act(session, instance_id=case.id, action="register", actor=p.dispatcher)
    act(
        session,
        instance_id=case.id,
        action="dispatch",
        actor=p.dispatcher,
        data={"department": "wf-urban"},
    )
    for outsider in (p.other_unit, p.other_area, p.inspector):
        with pytest.raises(PermissionDenied) as refused:
            act(session, instance_id=case.id, action="sign", actor=outsider)
        assert refused.value.code == "action_forbidden"
    assert available_actions_for(session, case, p.handler) == ["sign", "return"]
    assert available_actions_for(session, case, p.other_unit) == []


def available_actions_for(session: Session, case: WorkflowInstance, actor: Actor) -> list[str]:
    from cityos.foundation.workflow import definition_of

    return available_actions(definition_of(session, "case", case.version), case, actor)


def test_a_stale_version_is_refused(people: tuple[Session, People]) -> None:
    session, p = people
    case = _case(session, p)
    seen = case.row_version
    act(session, instance_id=case.id, action="register", actor=p.dispatcher)
    with pytest.raises(Conflict) as refused:
        act(
            session,
            instance_id=case.id,
            action="dispatch",
            actor=p.dispatcher,
            expected_version=seen,
            data={"department": "wf-urban"},
        )
    assert refused.value.code == "stale_version"


def test_deadlines_count_working_time_with_a_yellow_point_before_the_red(
    people: tuple[Session, People],
) -> None:
    session, p = people
    case = _to_handling(session, p)
    calendar = district_calendar(session)
    assert case.due_at == calendar.add_working_days(case.state_entered_at, 2)
    assert case.warn_at is not None
    assert case.state_entered_at < case.warn_at < case.due_at
    definition = WorkflowDef.model_validate(yaml.safe_load(CASE_WORKFLOW.read_text("utf-8")))
    warn, due = state_deadlines(
        definition,
        "accepted",
        entered_at=case.state_entered_at,
        parameters=LIMITS,
        calendar=calendar,
    )
    assert due == calendar.add_working_hours(case.state_entered_at, 2)
    assert warn is not None
    assert due is not None


def test_an_overdue_case_is_supervised_and_a_timer_of_a_past_state_does_nothing(
    people: tuple[Session, People],
) -> None:
    session, p = people
    case = _to_handling(session, p)
    run_timer(
        session, {"instance_id": str(case.id), "state_seq": case.state_seq - 1, "kind": "overdue"}
    )
    assert [e.action for e in history(session, case.id)][-1] == "sign"
    run_timer(
        session, {"instance_id": str(case.id), "state_seq": case.state_seq, "kind": "overdue"}
    )
    actions = [e.action for e in history(session, case.id)]
    assert actions[-2:] == ["system.overdue", "supervise"]
    assert case.state == "handling"


def test_a_case_not_called_back_closes_itself(people: tuple[Session, People]) -> None:
    session, p = people
    case = _to_handling(session, p)
    act(
        session,
        instance_id=case.id,
        action="resolve",
        actor=p.handler,
        attachments=[{"kind": "photo_after"}],
    )
    act(session, instance_id=case.id, action="verify_pass", actor=p.inspector)
    definition = WorkflowDef.model_validate(yaml.safe_load(CASE_WORKFLOW.read_text("utf-8")))
    index = next(i for i, e in enumerate(definition.escalations) if e.action == "auto_close")
    run_timer(
        session,
        {"instance_id": str(case.id), "state_seq": case.state_seq, "kind": f"after:{index}"},
    )
    assert case.state == "closed"
    assert history(session, case.id)[-1].actor == "system"


def test_a_state_entry_has_one_timer_at_a_time(people: tuple[Session, People]) -> None:
    from cityos.kernel.jobs.models import Job

    session, p = people
    case = _to_handling(session, p)

    def timers() -> set[str]:
        prefix = f"wf:{case.id}:{case.state_seq}:"
        keys = session.scalars(select(Job.dedupe_key).where(Job.dedupe_key.like(f"{prefix}%")))
        return {str(key).removeprefix(prefix) for key in keys}

    assert timers() == {"warning"}
    warning = {"instance_id": str(case.id), "state_seq": case.state_seq, "kind": "warning"}
    run_timer(session, warning)
    assert timers() == {"warning", "overdue"}
    state_seq = case.state_seq
    act(
        session,
        instance_id=case.id,
        action="resolve",
        actor=p.handler,
        attachments=[{"kind": "photo_after"}],
    )
    assert case.state_seq == state_seq + 1
    assert len(timers()) == 1


def test_a_new_version_applies_to_new_instances_only(people: tuple[Session, People]) -> None:
    session, p = people
    running = _case(session, p)
    document = yaml.safe_load(CASE_WORKFLOW.read_text("utf-8"))
    document["states"]["accepted"]["limit"] = "4 working hours"
    with pytest.raises(Conflict):
        register_definition(session, WorkflowDef.model_validate(document))
    document["version"] = 2
    register_definition(session, WorkflowDef.model_validate(document))
    newer = _case(session, p)
    assert (running.version, newer.version) == (1, 2)
    act(session, instance_id=running.id, action="register", actor=p.dispatcher)
    assert running.version == 1


def test_one_transition_is_one_version(people: tuple[Session, People]) -> None:
    session, p = people
    case = _case(session, p)
    before = case.row_version
    act(session, instance_id=case.id, action="register", actor=p.dispatcher)
    assert case.row_version == before + 1
