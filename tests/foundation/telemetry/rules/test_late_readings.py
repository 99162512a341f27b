"""Readings committed out of order (ingesters sharing a subscription): a late reading that
completes a rule's hold time still raises its alarm, as of when the hold was met, and never
a second alarm for a span already alarmed."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.telemetry.alarm_models import AlarmStatus, RuleState
from tests.factories.telemetry import Device
from tests.foundation.telemetry.rules.conftest import (
    LoadRules,
    alarms_of,
    at,
    cover_device,
    events,
    gauge_device,
    send,
)

DEEP_FOR_10 = """
rules:
  - id: deep-for-10
    name: {zh: 持续积水, en: Standing water}
    device_type: test-gauge
    when: water_depth > 15 for 10 min
    severity: major
"""

WATERLOGGING = """
rules:
  - id: waterlogging-warning
    name: {zh: 积水预警, en: Waterlogging warning}
    device_type: test-gauge
    when: water_depth > 15 for 10 min
    clear: water_depth < 10 for 10 min
    severity: major
"""


def state_of(session: Session, dev: Device) -> RuleState:
    state = session.scalar(select(RuleState).where(RuleState.thing_id == dev.thing.id))
    assert state is not None
    return state


def test_late_readings_that_complete_a_hold_raise_the_alarm_as_of_when_it_was_met(
    session: Session, load_rules: LoadRules
) -> None:
    wl = gauge_device(session)
    load_rules(DEEP_FOR_10)
    # Judged on arrival: above 15 cm from minute 8 to 13 only, then down.
    send(session, wl, "water_depth", (0, 5), (8, 16), (13, 17), (15, 4))
    send(session, wl, "water_depth", (4, 16))  # late: from minute 4, 9 minutes
    assert alarms_of(session, wl) == []
    send(session, wl, "water_depth", (2, 18))  # late: from minute 2, 11 minutes
    [alarm] = alarms_of(session, wl)
    assert (alarm.observed_at, alarm.value) == (at(13), 17)
    # The readings after minute 13 found the water gone: the rule clears it again.
    assert (alarm.status, alarm.cleared_by) == (AlarmStatus.CLEARED, "rule")
    assert len(events(session, "alarm.raised")) == len(events(session, "alarm.cleared")) == 1
    state = state_of(session, wl)
    assert (state.raised, state.since, state.last_time) == (False, None, at(15))


def test_late_readings_that_do_not_complete_the_hold_raise_nothing(
    session: Session, load_rules: LoadRules
) -> None:
    wl = gauge_device(session)
    load_rules(DEEP_FOR_10)
    send(session, wl, "water_depth", (0, 5), (8, 16), (13, 17), (15, 4))
    # Minute 11 was below the threshold: the span from minute 2 breaks there.
    send(session, wl, "water_depth", (4, 16), (11, 3))
    send(session, wl, "water_depth", (2, 18))
    assert alarms_of(session, wl) == []
    state = state_of(session, wl)
    assert (state.raised, state.since, state.last_time) == (False, None, at(15))


def test_a_span_already_alarmed_raises_no_second_alarm(
    session: Session, load_rules: LoadRules
) -> None:
    wl = gauge_device(session)
    load_rules(DEEP_FOR_10)
    send(session, wl, "water_depth", (0, 5), (6, 16), (11, 16), (16, 16), (20, 4))
    [alarm] = alarms_of(session, wl)
    assert alarm.observed_at == at(16)
    # Minute 3 starts the span earlier, which had its alarm from minute 16.
    send(session, wl, "water_depth", (3, 16))
    assert [(a.observed_at, a.count) for a in alarms_of(session, wl)] == [(at(16), 1)]
    assert len(events(session, "alarm.raised")) == 1


def test_late_readings_of_one_span_in_one_batch_raise_one_alarm(
    session: Session, load_rules: LoadRules
) -> None:
    wl = gauge_device(session)
    load_rules(DEEP_FOR_10)
    send(session, wl, "water_depth", (0, 5), (8, 16), (13, 17), (15, 4))
    send(session, wl, "water_depth", (2, 18), (4, 16))
    [alarm] = alarms_of(session, wl)
    assert (alarm.observed_at, alarm.count, alarm.status) == (at(13), 1, AlarmStatus.CLEARED)


def test_a_late_reading_completing_an_episode_still_under_way_keeps_its_alarm_open(
    session: Session, load_rules: LoadRules
) -> None:
    wl = gauge_device(session)
    load_rules(WATERLOGGING)
    # 12 cm at minute 13 is between the thresholds: a raised rule would stay raised.
    send(session, wl, "water_depth", (0, 5), (5, 16), (11, 17), (13, 12))
    send(session, wl, "water_depth", (1, 16))
    [alarm] = alarms_of(session, wl)
    assert (alarm.observed_at, alarm.status) == (at(11), AlarmStatus.ACTIVE)
    assert state_of(session, wl).raised
    send(session, wl, "water_depth", (20, 16), (25, 9), (35, 8))
    [alarm] = alarms_of(session, wl)
    assert (alarm.status, alarm.cleared_by) == (AlarmStatus.CLEARED, "rule")


def test_a_late_reading_moves_the_start_of_the_span_being_waited_on(
    session: Session, load_rules: LoadRules
) -> None:
    wl = gauge_device(session)
    load_rules(DEEP_FOR_10)
    send(session, wl, "water_depth", (0, 5), (6, 16), (11, 16))
    send(session, wl, "water_depth", (2, 16))  # above since minute 2, not 6
    send(session, wl, "water_depth", (12, 16))
    [alarm] = alarms_of(session, wl)
    assert (alarm.observed_at, alarm.status) == (at(12), AlarmStatus.ACTIVE)


def test_a_late_reading_below_the_threshold_restarts_the_span_being_waited_on(
    session: Session, load_rules: LoadRules
) -> None:
    wl = gauge_device(session)
    load_rules(DEEP_FOR_10)
    send(session, wl, "water_depth", (0, 16), (5, 16))
    send(session, wl, "water_depth", (3, 4))  # the water was down at minute 3
    send(session, wl, "water_depth", (10, 16))
    assert alarms_of(session, wl) == []
    send(session, wl, "water_depth", (15, 16))
    [alarm] = alarms_of(session, wl)
    assert alarm.observed_at == at(15)


def test_a_late_reading_of_another_property_is_judged_with_the_readings_after_it(
    session: Session, load_rules: LoadRules
) -> None:
    cover = cover_device(session)
    load_rules(
        """
rules:
  - id: cover-lifted
    name: {zh: 井盖被掀起, en: Cover lifted}
    device_type: test-cover
    when: {all: ["cover_open == 1", "cover_tilt > 15"], for: 10 min}
    severity: major
"""
    )
    send(session, cover, "cover_open", (0, False))
    send(session, cover, "cover_tilt", (1, 2), (6, 20), (17, 21), (19, 2))
    assert alarms_of(session, cover) == []
    # The cover opened at minute 4: tilted and open from minute 6 to 17.
    send(session, cover, "cover_open", (4, True))
    [alarm] = alarms_of(session, cover)
    assert (alarm.observed_at, alarm.value, alarm.status) == (at(17), 21, AlarmStatus.CLEARED)
