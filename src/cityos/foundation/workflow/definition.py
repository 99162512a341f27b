"""Workflow definitions as data: states, actions, who may take them, time limits in
working time, assignment and escalation, validated as a whole when loaded.

A definition is immutable once loaded under its ``(id, version)``; a new version applies
to instances started after it, and running instances finish on the version they began.

Why not a BPMN engine (SpiffWorkflow, Camunda): the districts' processes are state
machines with deadlines in Chinese working time, role and jurisdiction checks and
escalations; BPMN would add gateways, tokens and an XML dialect nobody here edits, and
still leave the working-time deadlines, the authorisation and the unified inbox to us.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cityos.kernel.calendar import WorkingCalendar
from cityos.kernel.i18n import LocalizedText

CODE = r"^[a-z][a-z0-9_-]{0,63}$"
_DURATION = re.compile(
    r"^\s*(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>working\s+hours?|working\s+days?|"
    r"hours?|minutes?|days?)\s*$"
)
_PARAMETER = re.compile(r"^(?P<name>[a-z][a-z0-9_]*)\.(?P<key>[a-z][a-z0-9_]*)$")


class DefinitionError(ValueError):
    """A definition that cannot run; the message names the state or action at fault."""


@dataclass(frozen=True)
class Duration:
    """A time limit: ``2 working hours``, ``3 working days``, ``30 minutes`` (calendar)."""

    amount: float
    unit: Literal["working_hours", "working_days", "hours", "minutes", "days"]

    @classmethod
    def parse(cls, text: str) -> Duration:
        found = _DURATION.match(text)
        if found is None:
            raise DefinitionError(
                f"{text!r} is not a time limit: write e.g. '2 working hours', "
                "'3 working days' or '30 minutes'"
            )
        unit = found["unit"].split()
        name = ("working_" if unit[0] == "working" else "") + unit[-1].rstrip("s") + "s"
        amount = float(found["amount"])
        if name == "working_days" and amount != int(amount):
            raise DefinitionError(f"{text!r}: working days are whole days")
        return cls(amount, name)  # type: ignore[arg-type]

    def after(self, start: datetime, calendar: WorkingCalendar) -> datetime:
        """The instant this long after ``start``, counting working time where it says so."""
        if self.unit == "working_hours":
            return calendar.add_working_hours(start, self.amount)
        if self.unit == "working_days":
            return calendar.add_working_days(start, int(self.amount))
        seconds = {"hours": 3600, "minutes": 60, "days": 86400}[self.unit]
        return start + timedelta(seconds=self.amount * seconds)


def is_parameter(text: str) -> bool:
    """Whether a limit names a parameter of the instance (``category.sign``)."""
    return _PARAMETER.match(text) is not None


def _limit(value: str | None) -> str | None:
    if value is not None and not is_parameter(value):
        Duration.parse(value)
    return value


class StateDef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: LocalizedText | None = None
    # A duration, or a parameter the instance brings (``category.handle``).
    limit: str | None = None
    warn_at: float = Field(default=2 / 3, gt=0, lt=1)
    terminal: bool = False

    _check_limit = field_validator("limit")(_limit)


class AssignDef(BaseModel):
    """Who the next state waits for: a role (within the instance's region and
    department), the user named in a data field, a rule the owning module supplies
    (``rule: routing``), or whoever waited before (``keep``)."""

    model_config = ConfigDict(extra="forbid")

    role: str | None = None
    # The data field naming the user (a user id) the next state waits for.
    field: str | None = None
    # The data field naming the department (its code) that ``role`` must belong to.
    department_field: str | None = None
    # Stay with the department the instance waited on (e.g. back to the same unit).
    keep_department: bool = False
    rule: str | None = Field(default=None, pattern=CODE)
    keep: bool = False
    # Back to whoever last took an action from this state (e.g. the handler who resolved).
    previous: str | None = None


class ActionDef(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = Field(pattern=CODE)
    name: LocalizedText | None = None
    from_: list[str] = Field(alias="from", min_length=1)
    to: str
    roles: list[str] = Field(default_factory=list)
    # Taken by timers and escalations only, never by a person.
    system: bool = False
    assignee_only: bool = False
    requires: list[str] = Field(default_factory=list)
    attachments: list[str] = Field(default_factory=list)
    comment_required: bool = False
    assign: AssignDef | None = None

    @field_validator("from_", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _someone_may_act(self) -> ActionDef:
        if not self.system and not self.roles:
            raise ValueError(f"action {self.id}: name the roles that may take it, or system")
        return self


class EscalationDef(BaseModel):
    """What happens when a state waits too long: at its warning point, when overdue, or
    a fixed time after it was entered; a system action to take and roles to notify."""

    model_config = ConfigDict(extra="forbid")

    state: str
    when: str
    action: str | None = None
    notify: list[str] = Field(default_factory=list)

    @field_validator("when")
    @classmethod
    def _when(cls, value: str) -> str:
        if value in ("warning", "overdue"):
            return value
        if value.startswith("after "):
            Duration.parse(value.removeprefix("after "))
            return value
        raise ValueError("when is 'warning', 'overdue' or 'after <time limit>'")

    @property
    def delay(self) -> Duration | None:
        if self.when.startswith("after "):
            return Duration.parse(self.when.removeprefix("after "))
        return None


class WorkflowDef(BaseModel):
    """One version of one workflow."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=CODE)
    version: int = Field(ge=1)
    name: LocalizedText
    start: str
    overall_limit: str | None = None
    states: dict[str, StateDef] = Field(min_length=2)
    actions: list[ActionDef] = Field(min_length=1)
    escalations: list[EscalationDef] = Field(default_factory=list)

    _check_limit = field_validator("overall_limit")(_limit)

    @model_validator(mode="after")
    def _runs(self) -> WorkflowDef:
        faults = structural_faults(self)
        if faults:
            raise ValueError("; ".join(faults))
        return self

    def action(self, action_id: str) -> ActionDef | None:
        return next((a for a in self.actions if a.id == action_id), None)

    def actions_from(self, state: str) -> list[ActionDef]:
        return [a for a in self.actions if state in a.from_]

    def roles(self) -> set[str]:
        """Every role the definition names (actions, assignment, notification)."""
        named = {r for a in self.actions for r in a.roles}
        named |= {a.assign.role for a in self.actions if a.assign and a.assign.role}
        named |= {r for e in self.escalations for r in e.notify}
        return named


def structural_faults(definition: WorkflowDef) -> list[str]:
    """What keeps a definition from running: unknown states, duplicate actions, states no
    path reaches or that reach no end, escalations that cannot happen."""
    faults: list[str] = []
    states = definition.states
    if definition.start not in states:
        faults.append(f"start state {definition.start!r} is not among the states")
    if not any(s.terminal for s in states.values()):
        faults.append("no state is terminal: instances could never finish")
    seen: set[str] = set()
    for action in definition.actions:
        if action.id in seen:
            faults.append(f"action {action.id!r} is defined twice")
        seen.add(action.id)
        for name in [*action.from_, action.to]:
            if name not in states:
                faults.append(f"action {action.id!r} names unknown state {name!r}")
        for name in action.from_:
            if name in states and states[name].terminal:
                faults.append(f"action {action.id!r} leaves terminal state {name!r}")
    if faults:
        return faults
    reachable = _reachable(definition)
    for name in states:
        if name not in reachable:
            faults.append(f"state {name!r} cannot be reached from {definition.start!r}")
    ends = {name for name, s in states.items() if s.terminal}
    finishing = _finishing(definition, ends)
    for name in states:
        if name in reachable and name not in finishing:
            faults.append(f"state {name!r} has no way to a terminal state")
    for e in definition.escalations:
        if e.state not in states:
            faults.append(f"escalation names unknown state {e.state!r}")
            continue
        if e.when in ("warning", "overdue") and states[e.state].limit is None:
            faults.append(f"escalation on {e.state!r} when {e.when}, but the state has no limit")
        if e.action is not None:
            escalating = definition.action(e.action)
            if escalating is None or e.state not in escalating.from_:
                faults.append(f"escalation action {e.action!r} cannot be taken from {e.state!r}")
            elif not escalating.system:
                faults.append(f"escalation action {e.action!r} must be a system action")
    return faults


def _reachable(definition: WorkflowDef) -> set[str]:
    seen = {definition.start}
    queue = deque([definition.start])
    while queue:
        state = queue.popleft()
        for action in definition.actions_from(state):
            if action.to not in seen:
                seen.add(action.to)
                queue.append(action.to)
    return seen


def _finishing(definition: WorkflowDef, ends: set[str]) -> set[str]:
    done = set(ends)
    changed = True
    while changed:
        changed = False
        for action in definition.actions:
            if action.to in done:
                for source in action.from_:
                    if source not in done:
                        done.add(source)
                        changed = True
    return done
