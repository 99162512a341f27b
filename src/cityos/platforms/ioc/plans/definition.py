"""Contingency plans (应急预案) as data: ``packs/*/plans.yaml`` in a district profile.

A plan names what starts it (``triggers``), its response levels (IV the lowest, I the
highest) and, per level, the linked tasks (a department, what to do, how soon, whether a
report back is required), whom to notify and which resources to send. A file reads::

    plans:
      - id: rainstorm
        name: {zh: 罗湖区暴雨内涝应急预案, en: Rainstorm and waterlogging plan}
        region: "440303"
        triggers:
          - {alarm: flood.waterlogging, severity: major, count: 3, within: 30 minutes, level: IV}
          - {warning: 暴雨红色预警, level: I, auto_start: true}
          - {manual: true}
        levels:
          IV:
            tasks:
              - {department: water-affairs, do: {zh: 巡查易涝点, en: Patrol flood-prone points},
                 within: 30 minutes}
            notify: [{roles: [duty-officer]}]

Checked here: the shape, durations, levels in I–IV with tasks, one trigger kind per entry.
Departments, roles and regions are checked against the profile by ``profile.py``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cityos.foundation.workflow import Duration
from cityos.kernel.i18n import LocalizedText

Level = Literal["IV", "III", "II", "I"]
# Lowest first: a level's rank is its index.
LEVELS: tuple[Level, ...] = ("IV", "III", "II", "I")
# Alarm severities, lowest first (as the alarms of foundation/telemetry grade them).
Severity = Literal["warning", "minor", "major", "critical"]
SEVERITIES: tuple[Severity, ...] = ("warning", "minor", "major", "critical")
LEVEL_NAMES: dict[Level, LocalizedText] = {
    "IV": LocalizedText(zh="Ⅳ级响应", en="Level IV response"),
    "III": LocalizedText(zh="Ⅲ级响应", en="Level III response"),
    "II": LocalizedText(zh="Ⅱ级响应", en="Level II response"),
    "I": LocalizedText(zh="Ⅰ级响应", en="Level I response"),
}


def rank(level: str) -> int:
    """0 for IV … 3 for I."""
    return LEVELS.index(level)


def _duration(value: str) -> str:
    """A calendar duration: an emergency does not wait for office hours."""
    if Duration.parse(value).unit.startswith("working"):
        raise ValueError(f"{value!r}: a plan counts calendar time, not working time")
    return value


def seconds(value: str) -> float:
    """A plan duration (``30 minutes``, ``2 hours``) in seconds."""
    duration = Duration.parse(value)
    return duration.amount * {"minutes": 60, "hours": 3600, "days": 86400}[duration.unit]


class TaskDef(BaseModel):
    """One linked task: ``department`` does ``do`` ``within`` a time (calendar time: an
    emergency does not wait for office hours) and finishes with a report back, which
    ``report`` says what it must contain."""

    model_config = ConfigDict(extra="forbid")

    department: str = Field(min_length=1, max_length=64)
    do: LocalizedText
    within: str
    report: LocalizedText | None = None

    @field_validator("within")
    @classmethod
    def _within(cls, value: str) -> str:
        return _duration(value)

    @property
    def key(self) -> str:
        """What makes a task the same task at another level (it is not created twice)."""
        return f"{self.department}:{self.do.zh}"


class NotifyDef(BaseModel):
    """Whom a level tells when it is reached: holders of ``roles`` reaching the plan's
    region (by ``template``), or the residents with a registered place in the run's
    affected area (its region when no area is drawn) with ``message``, by SMS too."""

    model_config = ConfigDict(extra="forbid")

    roles: list[str] = Field(default_factory=list)
    template: str = "plan-level-reached"
    residents: bool = False
    message: LocalizedText | None = None
    sms: bool = True

    @model_validator(mode="after")
    def _whom(self) -> NotifyDef:
        if bool(self.roles) == self.residents:
            raise ValueError("a notice goes either to roles or to residents")
        if self.residents and self.message is None:
            raise ValueError("a notice to residents needs its message")
        return self


class ResourceDef(BaseModel):
    """Resources a level sends: ``nearest`` available of ``type``."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1, max_length=64)
    nearest: int = Field(default=1, ge=1, le=50)


class LevelDef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: LocalizedText | None = None
    tasks: list[TaskDef] = Field(default_factory=list)
    notify: list[NotifyDef] = Field(default_factory=list)
    resources: list[ResourceDef] = Field(default_factory=list)


class TriggerDef(BaseModel):
    """What starts a plan, exactly one of: alarms of a type (at least ``severity``,
    ``count`` of them within ``within`` in the plan's region), cases of a category (a minor
    class code, or a prefix of one: ``"15"`` is every 突发事件; ``count`` of them reported
    within ``within`` in the plan's region), an external warning by its name (暴雨红色预警),
    or a person (``manual``). ``level`` is the level it starts at; ``auto_start`` starts
    the plan at once, otherwise a duty officer confirms it."""

    model_config = ConfigDict(extra="forbid")

    alarm: str | None = Field(default=None, min_length=1, max_length=100)
    cases: str | None = Field(default=None, pattern=r"^\d{2,6}$")
    severity: Severity = "warning"
    count: int = Field(default=1, ge=1, le=1000)
    within: str | None = None
    warning: str | None = Field(default=None, min_length=1, max_length=100)
    manual: bool = False
    level: Level = "IV"
    auto_start: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> TriggerDef:
        kinds = [k for k in (self.alarm, self.cases, self.warning) if k is not None]
        if len(kinds) + int(self.manual) != 1:
            raise ValueError("a trigger is exactly one of alarm, cases, warning or manual")
        counted = self.alarm is not None or self.cases is not None
        if self.within is not None:
            if not counted:
                raise ValueError("within belongs to an alarm or cases trigger")
            _duration(self.within)
        if counted and self.count > 1 and self.within is None:
            raise ValueError("a trigger counting more than one alarm or case needs within")
        if self.manual and self.auto_start:
            raise ValueError("a manual trigger is started by a person; auto_start is for others")
        return self

    @property
    def kind(self) -> Literal["alarm", "cases", "warning", "manual"]:
        if self.alarm is not None:
            return "alarm"
        if self.cases is not None:
            return "cases"
        return "warning" if self.warning is not None else "manual"


class PlanDef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9-]{1,63}$")
    name: LocalizedText
    kind: str = Field(default="general", pattern=r"^[a-z][a-z0-9-]{1,31}$")
    region: str = Field(default="440303", pattern=r"^\d{6}(\d{3}){0,3}$")
    synthetic: bool = False
    triggers: list[TriggerDef] = Field(min_length=1)
    levels: dict[Level, LevelDef] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> PlanDef:
        for trigger in self.triggers:
            if trigger.level not in self.levels:
                raise ValueError(f"a trigger starts at level {trigger.level}, which has no entry")
        if not any(level.tasks for level in self.levels.values()):
            raise ValueError("a plan needs at least one linked task")
        return self

    def departments(self) -> set[str]:
        return {task.department for level in self.levels.values() for task in level.tasks}

    def roles(self) -> set[str]:
        return {role for level in self.levels.values() for n in level.notify for role in n.roles}

    def level_name(self, level: Level) -> LocalizedText:
        declared = self.levels.get(level)
        return declared.name if declared and declared.name else LEVEL_NAMES[level]


class PlansFile(BaseModel):
    """``packs/*/plans.yaml``."""

    model_config = ConfigDict(extra="forbid")

    plans: list[PlanDef] = Field(min_length=1)
