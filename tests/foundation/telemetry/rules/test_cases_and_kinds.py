"""A rule that opens a case (through the bus, as the cases domain listens), and a rule
kind registered in code: the hook a model-based anomaly rule will use."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.domains.cases.models import Case
from cityos.foundation.telemetry.alarm_models import Alarm
from cityos.foundation.telemetry.rules import (
    Condition,
    Moment,
    register_rule_kind,
    unregister_rule_kind,
)
from cityos.kernel.bus import drain
from cityos.kernel.profiles import ProfileInvalid
from tests.domains.cases.conftest import INSIDE, Desk, desk
from tests.foundation.telemetry.rules.conftest import LoadRules, alarms_of, gauge_device, send

__all__ = ["desk"]  # the cases tests' desk: their workflow, categories and district


def test_a_rule_with_open_case_opens_one_case_at_the_device(
    desk: Desk, load_rules: LoadRules, session: Session
) -> None:
    wl = gauge_device(session, code="WL-C", lon=INSIDE[0], lat=INSIDE[1])
    load_rules(
        """
rules:
  - id: waterlogging-case
    name: {zh: 积水, en: Waterlogging}
    device_type: test-gauge
    when: water_depth > 15
    severity: major
    open_case: {category: "0101"}
"""
    )
    send(session, wl, "water_depth", (0, 20))
    session.commit()  # into the test's transaction, where the relay reads
    drain(desk.runtime)
    drain(desk.runtime)  # a second delivery attempt finds nothing new to do
    [alarm] = alarms_of(session, wl)
    session.refresh(alarm)
    [case] = session.scalars(select(Case).where(Case.source_ref == f"alarm:{alarm.id}"))
    assert alarm.case_id == case.id
    assert (case.channel, case.category_code, case.status) == ("iot", "0101", "accepted")
    assert (case.lon, case.lat) == INSIDE
    assert "WL-C" in case.description
    assert "20" in case.description


class _Spike:
    """Holds when a value is ``factor`` times the one before it (a stand-in for a model)."""

    def __init__(self, prop: str, factor: float) -> None:
        self.prop, self.factor = prop, factor
        self.seen: dict[int, float] = {}

    @property
    def properties(self) -> frozenset[str]:
        return frozenset({self.prop})

    def holds(self, at: Moment) -> bool:
        current = at.values[self.prop]
        before = self.seen.get(at.thing_id)
        self.seen[at.thing_id] = current
        return before is not None and current >= before * self.factor


def _spike(params: Mapping[str, Any]) -> Condition:
    if set(params) != {"property", "factor"}:
        raise ValueError("spike takes 'property' and 'factor'")
    return _Spike(str(params["property"]), float(params["factor"]))


@pytest.fixture
def spike_kind() -> Iterator[None]:
    register_rule_kind("test-spike", _spike)
    yield
    unregister_rule_kind("test-spike")


def test_a_registered_kind_judges_readings_like_any_rule(
    spike_kind: None, load_rules: LoadRules, session: Session
) -> None:
    wl = gauge_device(session)
    load_rules(
        """
rules:
  - id: depth-spike
    name: {zh: 积水突增, en: Depth spike}
    device_type: test-gauge
    when: {kind: test-spike, property: water_depth, factor: 3}
    clear: water_depth < 5 for 10 min
    severity: warning
"""
    )
    send(session, wl, "water_depth", (0, 2), (5, 3), (10, 4))
    assert alarms_of(session, wl) == []
    send(session, wl, "water_depth", (15, 13))
    assert [a.rule_id for a in alarms_of(session, wl)] == ["depth-spike"]


def test_an_unknown_kind_or_bad_parameters_are_profile_errors(
    spike_kind: None, load_rules: LoadRules, session: Session
) -> None:
    gauge_device(session)
    with pytest.raises(ProfileInvalid) as refused:
        load_rules(
            """
rules:
  - id: depth-model
    name: {zh: 模型, en: Model}
    device_type: test-gauge
    when: {kind: lstm-anomaly}
    severity: warning
  - id: depth-spike
    name: {zh: 积水突增, en: Depth spike}
    device_type: test-gauge
    when: {kind: test-spike, property: water_depth}
    severity: warning
"""
        )
    messages = [(i.line, i.message) for i in refused.value.issues]
    assert messages[0][0] == 6
    assert "unknown rule kind 'lstm-anomaly'" in messages[0][1]
    assert messages[1][0] == 11
    assert "spike takes 'property' and 'factor'" in messages[1][1]
    assert session.scalar(select(Alarm)) is None
