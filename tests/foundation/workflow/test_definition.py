"""Workflow definitions are validated as a whole when loaded."""

from __future__ import annotations

from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from cityos.foundation.workflow import Duration, WorkflowDef

CASE_WORKFLOW = Path(__file__).parents[3] / "src/cityos/profiles/luohu/packs/cases/workflow.yaml"

BASE: dict[str, Any] = {
    "id": "demo",
    "version": 1,
    "name": {"zh": "演示", "en": "Demo"},
    "start": "a",
    "states": {"a": {"limit": "2 working hours"}, "b": {}, "done": {"terminal": True}},
    "actions": [
        {"id": "go", "from": "a", "to": "b", "roles": ["clerk"]},
        {"id": "finish", "from": "b", "to": "done", "roles": ["clerk"]},
    ],
}


def _with(change: dict[str, Any]) -> dict[str, Any]:
    document = deepcopy(BASE)
    document.update(change)
    return document


def test_the_luohu_case_workflow_is_valid() -> None:
    definition = WorkflowDef.model_validate(yaml.safe_load(CASE_WORKFLOW.read_text("utf-8")))
    assert definition.start == "accepted"
    assert {"dispatcher", "handler", "grid-inspector"} <= definition.roles()


@pytest.mark.parametrize(
    ("change", "fault"),
    [
        ({"start": "nowhere"}, "start state 'nowhere'"),
        (
            {"states": {"a": {}, "b": {}, "done": {"terminal": True}, "island": {}}},
            "state 'island' cannot be reached",
        ),
        (
            {
                "actions": [
                    {"id": "go", "from": "a", "to": "b", "roles": ["clerk"]},
                    {"id": "loop", "from": "b", "to": "a", "roles": ["clerk"]},
                ]
            },
            "has no way to a terminal state",
        ),
        (
            {
                "actions": [
                    *BASE["actions"],
                    {"id": "go", "from": "b", "to": "done", "roles": ["clerk"]},
                ]
            },
            "action 'go' is defined twice",
        ),
        (
            {"actions": [*BASE["actions"], {"id": "x", "from": "a", "to": "mars", "roles": ["c"]}]},
            "unknown state 'mars'",
        ),
        (
            {"actions": [*BASE["actions"], {"id": "x", "from": "done", "to": "a", "roles": ["c"]}]},
            "leaves terminal state 'done'",
        ),
        ({"states": {"a": {}, "b": {}, "done": {}}}, "no state is terminal"),
        (
            {"escalations": [{"state": "b", "when": "overdue", "notify": ["boss"]}]},
            "the state has no limit",
        ),
        (
            {"escalations": [{"state": "a", "when": "overdue", "action": "go"}]},
            "must be a system action",
        ),
    ],
)
def test_a_definition_that_cannot_run_is_refused_naming_why(
    change: dict[str, Any], fault: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        WorkflowDef.model_validate(_with(change))
    assert fault in str(raised.value)


@pytest.mark.parametrize("limit", ["2 hours-ish", "1.5 working days", "soon"])
def test_a_limit_that_is_not_a_duration_is_refused(limit: str) -> None:
    with pytest.raises(ValidationError):
        WorkflowDef.model_validate(_with({"states": {**BASE["states"], "a": {"limit": limit}}}))


def test_an_action_nobody_may_take_is_refused() -> None:
    actions = [{"id": "go", "from": "a", "to": "b"}, BASE["actions"][1]]
    with pytest.raises(ValidationError, match="name the roles"):
        WorkflowDef.model_validate(_with({"actions": actions}))


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("2 working hours", 2.0, "working_hours"),
        ("1 working day", 1.0, "working_days"),
        ("30 minutes", 30.0, "minutes"),
        ("3 days", 3.0, "days"),
    ],
)
def test_durations_read_as_written(text: str, amount: float, unit: str) -> None:
    assert Duration.parse(text) == Duration(amount, unit)  # type: ignore[arg-type]
