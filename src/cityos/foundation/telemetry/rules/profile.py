"""The rules part of a district profile: ``packs/*/rules.yaml``.

Each file is parsed by ``RulesFile`` (expressions, durations and windows are checked
there, with the line of the bad rule). Rule ids are unique across packs. Each rule must fit
its device type (the type exists and observes every property the rule reads): checked
against the packs' ``device-types.yaml`` at validation, with lines, and against the
``DeviceType`` rows at load, since types may also exist from before. The loader upserts
rules by id in file order, retires rules the profile dropped, and makes sure the silence
check runs every minute when some rule waits for ``no data``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.telemetry.alarm_models import Rule
from cityos.foundation.telemetry.models import DeviceType
from cityos.foundation.telemetry.rules.definition import NoData, RuleEntry, RulesFile
from cityos.kernel.jobs import schedule
from cityos.kernel.profiles import (
    ProfileContext,
    ProfileDocuments,
    ProfileInvalid,
    ProfileIssue,
)
from cityos.kernel.registry import ProfileSection

DEVICE_TYPES_SECTION = "telemetry-device-types"
SILENCE_JOB = "telemetry.rules_silence"
SILENCE_EVERY = 60


def _faults(rule: RuleEntry, observes: dict[str, set[str]]) -> list[str]:
    """What is wrong with a rule against the device types (code → observed properties)."""
    known = observes.get(rule.device_type)
    if known is None:
        return [f"unknown device type {rule.device_type!r}"]
    return [
        f"device type {rule.device_type!r} does not observe {prop!r}"
        for prop in sorted(rule.properties() - known)
    ]


def _declared_types(documents: ProfileDocuments) -> dict[str, set[str]] | None:
    """The device types the profile's packs declare (an earlier section), or None when
    that section did not validate or declares none."""
    declared: dict[str, set[str]] = {}
    for file in documents.earlier.get(DEVICE_TYPES_SECTION, []):
        for spec in getattr(file.document, "device_types", []):
            declared[spec.code] = {o.property for o in spec.observes}
    return declared or None


def _check(documents: ProfileDocuments) -> list[ProfileIssue]:
    """Rule ids unique across the packs; rules fit the device types the packs declare."""
    issues: list[ProfileIssue] = []
    declared = _declared_types(documents)
    seen: dict[str, str] = {}
    for file in documents.files:
        assert isinstance(file.document, RulesFile)
        for i, rule in enumerate(file.document.rules):
            if rule.id in seen:
                message = f"rule id {rule.id!r} is already used in {seen[rule.id]}"
                line = file.line_of(("rules", i, "id"))
                issues.append(ProfileIssue(file.relative, line, rule.id, message))
            seen.setdefault(rule.id, file.relative)
            if declared is not None:
                line = file.line_of(("rules", i, "device_type"))
                issues.extend(
                    ProfileIssue(file.relative, line, rule.id, message)
                    for message in _faults(rule, declared)
                )
    return issues


def _stored_types(session: Session) -> dict[str, set[str]]:
    return {
        code: {str(item.get("property")) for item in listed if isinstance(item, dict)}
        for code, listed in session.execute(select(DeviceType.code, DeviceType.observes))
    }


def _load(session: Session, context: ProfileContext, documents: list[Any]) -> None:
    rules: list[tuple[str, RuleEntry]] = []
    for file, document in zip(context.files, documents, strict=True):
        assert isinstance(document, RulesFile)
        rules.extend((file, rule) for rule in document.rules)
    # Device types may also come from an earlier load or the API: the rows are the truth.
    observes = _stored_types(session)
    issues = [
        ProfileIssue(file, None, rule.id, message)
        for file, rule in rules
        for message in _faults(rule, observes)
    ]
    if issues:
        raise ProfileInvalid(issues)
    existing = {rule.id: rule for rule in session.scalars(select(Rule))}
    for position, (_, entry) in enumerate(rules, start=1):
        document = entry.model_dump(mode="json", exclude_none=True)
        row = existing.pop(entry.id, None)
        if row is None:
            session.add(
                Rule(
                    id=entry.id,
                    position=position,
                    device_type_code=entry.device_type,
                    document=document,
                    active=True,
                )
            )
            context.count("rules")
        elif (row.position, row.document, row.active) != (position, document, True):
            row.position, row.document, row.active = position, document, True
            row.device_type_code = entry.device_type
            context.count("rules")
    # Alarms keep naming the rule that raised them, so a dropped rule stays, retired.
    for row in existing.values():
        if row.active:
            row.active = False
            context.count("rules_retired")
    session.flush()
    if any(isinstance(entry.compiled(0).when, NoData) for _, entry in rules):
        schedule(session, name=SILENCE_JOB, payload={}, dedupe_key=SILENCE_JOB, every=SILENCE_EVERY)


# After the device types (and the devices) of the packs, whose rows the rules are checked
# against.
rules_section = ProfileSection(
    name="telemetry-rules",
    files=("packs/*/rules.yaml",),
    schema=RulesFile,
    load=_load,
    order=290,
    required=False,
    check=_check,
)
