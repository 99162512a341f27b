"""Two people taking the same step at the same moment, on real separate connections:
one wins, the other is told (409), and the history never forks."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, select

from cityos.foundation.identity.authz import Actor, Grant
from cityos.foundation.identity.models import Scope, UserKind
from cityos.foundation.workflow import (
    WorkflowDef,
    WorkflowEvent,
    WorkflowInstance,
    act,
    register_definition,
    start,
)
from cityos.foundation.workflow.models import WorkflowDefinition
from cityos.kernel.db import make_sessionmaker
from cityos.kernel.errors import Conflict
from cityos.kernel.jobs.models import Job
from cityos.kernel.uow import unit_of_work

RACE = WorkflowDef.model_validate(
    {
        "id": "race-test",
        "version": 1,
        "name": {"zh": "并发", "en": "Race"},
        "start": "open",
        "states": {"open": {}, "taken": {}, "done": {"terminal": True}},
        "actions": [
            {"id": "take", "from": "open", "to": "taken", "roles": ["clerk"]},
            {"id": "finish", "from": "taken", "to": "done", "roles": ["clerk"]},
        ],
    }
)


def _clerk(name: str) -> Actor:
    grant = Grant(role="clerk", scope=Scope.DISTRICT, permissions=frozenset())
    return Actor.of(user_id=uuid.uuid4(), username=name, kind=UserKind.STAFF, grants=[grant])


@pytest.fixture
def instance_id(engine: Engine) -> Iterator[uuid.UUID]:
    sessions = make_sessionmaker(engine)
    with unit_of_work(sessions) as session:
        register_definition(session, RACE)
        instance = start(
            session,
            workflow_id="race-test",
            subject_type="test",
            subject_id=uuid.uuid4().hex,
            actor=None,
            region_code="440303",
        )
        found = instance.id
    try:
        yield found
    finally:
        with unit_of_work(sessions) as session:
            session.execute(delete(WorkflowEvent).where(WorkflowEvent.instance_id == found))
            session.execute(delete(WorkflowInstance).where(WorkflowInstance.id == found))
            session.execute(delete(Job).where(Job.dedupe_key.like(f"wf:{found}:%")))
            session.execute(
                delete(WorkflowDefinition).where(WorkflowDefinition.workflow_id == "race-test")
            )
            from cityos.kernel.bus.models import OutboxEvent

            session.execute(delete(OutboxEvent).where(OutboxEvent.key == str(found)))


def test_two_people_taking_the_same_step_at_once_get_one_winner(
    engine: Engine, instance_id: uuid.UUID
) -> None:
    sessions = make_sessionmaker(engine)
    # Both loaded the task page before either acted: they saw the same version.
    with unit_of_work(sessions) as session:
        loaded = session.get(WorkflowInstance, instance_id)
        assert loaded is not None
        version = loaded.row_version
    ready = threading.Barrier(2, timeout=30)
    outcomes: dict[str, str] = {}

    def take(name: str) -> None:
        try:
            # Released together; SQLite then queues the two writes, PostgreSQL runs them
            # side by side until the row's version decides.
            ready.wait()
            with unit_of_work(sessions) as session:
                act(
                    session,
                    instance_id=instance_id,
                    action="take",
                    actor=_clerk(name),
                    expected_version=version,
                )
            outcomes[name] = "won"
        except Conflict as refused:
            outcomes[name] = refused.code

    threads = [threading.Thread(target=take, args=(name,)) for name in ("甲", "乙")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    # The loser gets a 409 whichever check caught it: the step already taken (the queued
    # write saw the new state), the version moved on, or the row changed under its write.
    assert list(outcomes.values()).count("won") == 1, outcomes
    (loser,) = (code for code in outcomes.values() if code != "won")
    assert loser in {"action_not_allowed", "stale_version", "concurrent_action"}, outcomes
    with unit_of_work(sessions) as session:
        steps = session.scalars(
            select(WorkflowEvent.action)
            .where(WorkflowEvent.instance_id == instance_id)
            .order_by(WorkflowEvent.seq)
        ).all()
    assert steps == ["start", "take"]
