"""The rule grammar: what parses, and what an author is told when it does not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.telemetry.alarm_models import Rule
from cityos.foundation.telemetry.rules.definition import (
    AllOf,
    AnyOf,
    Change,
    Compare,
    NoData,
    Trigger,
    parse_trigger,
)
from cityos.kernel.profiles import ProfileInvalid, resolve, validate
from cityos.kernel.registry import get_registry
from tests.foundation.telemetry.rules.conftest import LoadRules, gauge_device


def test_expressions_parse_into_conditions() -> None:
    assert parse_trigger("water_depth > 15 for 10 min") == Trigger(
        Compare("water_depth", ">", 15), timedelta(minutes=10)
    )
    assert parse_trigger("rise of river_level > 0.5 in 30 min") == Trigger(
        Change("rise", "river_level", ">", 0.5, timedelta(minutes=30))
    )
    assert parse_trigger("no data for 3 intervals") == NoData(3)
    # "and" binds tighter than "or"; parentheses say otherwise.
    assert parse_trigger("a > 1 or b > 2 and c < 3").condition == AnyOf(
        (Compare("a", ">", 1), AllOf((Compare("b", ">", 2), Compare("c", "<", 3))))
    )
    assert parse_trigger("(a > 1 or b > 2) and c <= -3").condition == AllOf(
        (AnyOf((Compare("a", ">", 1), Compare("b", ">", 2))), Compare("c", "<=", -3))
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("water_depth > ", "expected a number at the end"),
        ("water_depth 15", "expected a comparison"),
        ("water_depth > 15 for 10 fortnights", "not a duration"),
        ("water_depth > 15 when", "unexpected 'when' at character 18"),
        ("water_depth > 15 & x < 2", "unexpected '&'"),
        ("rise of river_level > 0.5", "expected 'in' at the end"),
        ("", "the condition is empty"),
    ],
)
def test_bad_expressions_say_what_is_wrong_and_where(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_trigger(text)


def test_the_district_profile_rules_validate() -> None:
    assert validate(resolve("luohu"), get_registry()) == []


def test_rules_must_fit_their_device_type(session: Session, load_rules: LoadRules) -> None:
    gauge_device(session)
    with pytest.raises(ProfileInvalid) as refused:
        load_rules(
            """
rules:
  - id: depth
    name: {zh: 积水, en: Depth}
    device_type: test-gauge
    when: water_depth > 15 and rainfall > 3
    severity: major
  - id: ghost
    name: {zh: 无, en: None}
    device_type: no-such-type
    when: x > 1
    severity: minor
"""
        )
    assert [(i.where, i.message) for i in refused.value.issues] == [
        ("depth", "device type 'test-gauge' does not observe 'rainfall'"),
        ("ghost", "unknown device type 'no-such-type'"),
    ]
    assert session.scalar(select(Rule)) is None


def test_reloading_retires_dropped_rules(session: Session, load_rules: LoadRules) -> None:
    gauge_device(session)
    rule = """
  - id: {id}
    name: {{zh: 积水, en: Depth}}
    device_type: test-gauge
    when: water_depth > 15
    severity: major
"""
    load_rules("rules:" + rule.format(id="one") + rule.format(id="two"))
    load_rules("rules:" + rule.format(id="two"))
    rows = session.execute(select(Rule.id, Rule.position, Rule.active).order_by(Rule.id)).all()
    assert [tuple(r) for r in rows] == [("one", 1, False), ("two", 1, True)]
