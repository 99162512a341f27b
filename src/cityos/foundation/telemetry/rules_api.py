"""``/api/v1/alarm-rules``: the alarm rules as the district profile declared them, read-only
(they are data in the profile's packs, changed through a configuration change), with how
many of their alarms are open and how many devices they hold raised.

The rules are district-wide definitions, so everyone with ``alarms.read`` sees them all;
the counts only count alarms and devices within the caller's reach, as the alarm list does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from cityos.foundation.identity.authz import Actor, reach_clause, require
from cityos.foundation.telemetry.alarm_models import OPEN_STATUSES, Alarm, Rule, RuleState
from cityos.foundation.telemetry.models import DeviceType, Thing
from cityos.foundation.telemetry.rules.definition import RuleEntry, Trigger
from cityos.kernel.errors import NotFound
from cityos.kernel.http import DbSession

router = APIRouter(prefix="/alarm-rules", tags=["alarm rules 告警规则"])

READ_PERMISSION = "alarms.read"

MESSAGES: dict[str, dict[str, str]] = {
    "alarm_rule_not_found": {"zh-CN": "告警规则不存在", "en": "No such alarm rule"},
}

Reader = Annotated[Actor, Depends(require(READ_PERMISSION))]


class AlarmRuleNotFound(NotFound):
    code = "alarm_rule_not_found"


class LocalizedName(BaseModel):
    zh: str
    en: str


class OpenCaseOut(BaseModel):
    category: str
    description: str | None = None


class AlarmRuleOut(BaseModel):
    id: str
    name: LocalizedName
    type: str = Field(description="the type its alarms carry")
    device_type: str
    device_type_name: LocalizedName | None
    devices: list[str] = Field(description="device codes, when the rule is narrowed to some")
    condition: str = Field(description="when it fires, as the profile writes it")
    clear: str | None = Field(description="when it clears; by default when it no longer fires")
    duration_seconds: int | None = Field(description="how long the condition must hold")
    during: str | None
    timezone: str
    severity: str
    escalate_after: str | None
    auto_clear: bool
    open_case: OpenCaseOut | None
    position: int
    active: bool = Field(description="false once the profile dropped the rule")
    open_alarms: int = Field(description="its open alarms within your reach")


class AlarmRuleDetailOut(AlarmRuleOut):
    watched_devices: int = Field(description="devices within your reach the rule watches")
    raised_devices: int = Field(description="of those, how many it holds raised now")


def condition_text(spec: str | dict[str, Any]) -> str:
    """A ``when``/``clear`` value as one line of the rule grammar: strings as written,
    mappings (``all``, ``any``, ``kind``) spelled out."""
    if isinstance(spec, str):
        return spec
    rest = {key: value for key, value in spec.items() if key != "for"}
    if "all" in rest or "any" in rest:
        joiner, parts = ("and", rest["all"]) if "all" in rest else ("or", rest["any"])
        text = f" {joiner} ".join(f"({part})" for part in parts)
    else:
        name = rest.pop("kind", "?")
        params = ", ".join(f"{key}={value}" for key, value in rest.items())
        text = f"{name}({params})"
    return f"{text} for {spec['for']}" if "for" in spec else text


def _duration(document: dict[str, Any]) -> int | None:
    """Seconds the ``when`` condition must hold, or None for silence and unknown kinds."""
    try:
        when = RuleEntry.model_validate(document).compiled(0).when
    except (ValidationError, ValueError):
        return None
    return int(when.hold.total_seconds()) if isinstance(when, Trigger) else None


def _out(rule: Rule, *, type_names: dict[str, LocalizedName], open_alarms: int) -> AlarmRuleOut:
    document = rule.document
    open_case = document.get("open_case")
    device_type = str(document.get("device_type") or rule.device_type_code or "")
    return AlarmRuleOut(
        id=rule.id,
        name=LocalizedName.model_validate(document["name"]),
        type=document.get("type") or rule.id,
        device_type=device_type,
        device_type_name=type_names.get(device_type),
        devices=list(document.get("devices") or []),
        condition=condition_text(document["when"]),
        clear=condition_text(document["clear"]) if document.get("clear") is not None else None,
        duration_seconds=_duration(document),
        during=document.get("during"),
        timezone=document.get("timezone", "Asia/Shanghai"),
        severity=document["severity"],
        escalate_after=document.get("escalate_after"),
        auto_clear=document.get("auto_clear", True),
        open_case=OpenCaseOut(**open_case) if open_case else None,
        position=rule.position,
        active=rule.active,
        open_alarms=open_alarms,
    )


def _alarm_reach(actor: Actor) -> ColumnElement[bool]:
    """The alarm list's reach rule: the alarms ``alarms.read`` lets the actor see."""
    reach = reach_clause(
        actor,
        region_column=Alarm.region_code,
        department_column=Alarm.department_id,
        permission=READ_PERMISSION,
        department_optional=True,
    )
    return true() if reach is None else reach


def _device_reach(actor: Actor) -> ColumnElement[bool]:
    """The same rule on devices, which carry the place and unit their alarms copy."""
    reach = reach_clause(
        actor,
        region_column=Thing.region_code,
        department_column=Thing.department_id,
        permission=READ_PERMISSION,
        department_optional=True,
    )
    return true() if reach is None else reach


def _open_alarms(session: Session, actor: Actor, rule_ids: Iterable[str]) -> dict[str, int]:
    stmt = (
        select(Alarm.rule_id, func.count())
        .where(
            Alarm.rule_id.in_(list(rule_ids)),
            Alarm.status.in_(OPEN_STATUSES),
            _alarm_reach(actor),
        )
        .group_by(Alarm.rule_id)
    )
    return dict(session.execute(stmt).all())


def _type_names(session: Session) -> dict[str, LocalizedName]:
    return {
        code: LocalizedName(zh=zh, en=en)
        for code, zh, en in session.execute(
            select(DeviceType.code, DeviceType.name_zh, DeviceType.name_en)
        )
    }


@router.get("", response_model=list[AlarmRuleOut])
def list_alarm_rules(session: DbSession, actor: Reader) -> list[AlarmRuleOut]:
    """Every rule of the profile, in the order they are judged, retired ones last."""
    rules = list(session.scalars(select(Rule).order_by(Rule.active.desc(), Rule.position, Rule.id)))
    counts = _open_alarms(session, actor, (rule.id for rule in rules))
    names = _type_names(session)
    return [_out(rule, type_names=names, open_alarms=counts.get(rule.id, 0)) for rule in rules]


@router.get("/{rule_id}", response_model=AlarmRuleDetailOut)
def read_alarm_rule(rule_id: str, session: DbSession, actor: Reader) -> AlarmRuleDetailOut:
    """One rule, with how many devices within reach it watches and holds raised."""
    rule = session.get(Rule, rule_id)
    if rule is None:
        raise AlarmRuleNotFound(f"no alarm rule {rule_id!r}")
    summary = _out(
        rule,
        type_names=_type_names(session),
        open_alarms=_open_alarms(session, actor, [rule.id]).get(rule.id, 0),
    )
    watched = select(Thing.id).where(
        Thing.device_type_code == summary.device_type, _device_reach(actor)
    )
    if summary.devices:
        watched = watched.where(Thing.code.in_(summary.devices))
    raised = select(func.count()).where(
        RuleState.rule_id == rule.id,
        RuleState.raised.is_(True),
        RuleState.thing_id.in_(watched),
    )
    return AlarmRuleDetailOut(
        **summary.model_dump(),
        watched_devices=session.scalar(select(func.count()).select_from(watched.subquery())) or 0,
        raised_devices=session.scalar(raised) or 0,
    )
