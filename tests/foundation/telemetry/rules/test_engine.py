"""Rules judged on arrival: thresholds with hysteresis and a minimum duration, rates of
change, composite conditions, time windows, silence; state kept in the database."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cityos.foundation.telemetry.alarm_models import AlarmStatus, RuleState
from cityos.foundation.telemetry.ingest import MEASUREMENT
from cityos.foundation.telemetry.models import Thing
from cityos.foundation.telemetry.rules import check_silence, forget_compiled_rules
from cityos.kernel.clock import utcnow
from tests.factories.telemetry import device
from tests.foundation.telemetry.rules.conftest import (
    LoadRules,
    alarms_of,
    cover_device,
    events,
    gauge_device,
    send,
)

WATERLOGGING = """
rules:
  - id: waterlogging-warning
    name: {zh: 积水预警, en: Waterlogging warning}
    type: flood.waterlogging
    device_type: test-gauge
    when: water_depth > 15 for 10 min
    clear: water_depth < 10 for 10 min
    severity: major
"""


def test_hysteresis_keeps_one_alarm_while_the_value_wavers_between_thresholds(
    session: Session, load_rules: LoadRules
) -> None:
    wl = gauge_device(session)
    load_rules(WATERLOGGING)
    send(session, wl, "water_depth", (0, 16), (5, 17), (10, 18))
    [alarm] = alarms_of(session, wl)
    assert (alarm.status, alarm.severity, alarm.value) == (AlarmStatus.ACTIVE, "major", 18)
    # Around 15 cm and back: below the raise threshold, above the clear one.
    send(session, wl, "water_depth", (15, 14), (20, 16), (25, 12), (30, 16), (35, 11))
    assert [a.status for a in alarms_of(session, wl)] == [AlarmStatus.ACTIVE]
    # Below 10 cm, but not yet for 10 minutes; then for 10 minutes.
    send(session, wl, "water_depth", (40, 9), (45, 9))
    assert alarms_of(session, wl)[0].status == AlarmStatus.ACTIVE
    send(session, wl, "water_depth", (50, 8))
    [alarm] = alarms_of(session, wl)
    assert (alarm.status, alarm.cleared_by, alarm.open_key) == (AlarmStatus.CLEARED, "rule", None)
    raised, cleared = events(session, "alarm.raised"), events(session, "alarm.cleared")
    assert len(raised) == len(cleared) == 1
    assert raised[0]["type"] == "flood.waterlogging"
    assert raised[0]["device"]["code"] == "WL-1"
    assert raised[0]["location"] == {"lon": 114.118, "lat": 22.548}
    assert raised[0]["rule"]["id"] == "waterlogging-warning"


def test_a_threshold_must_hold_for_its_whole_duration(
    session: Session, load_rules: LoadRules
) -> None:
    wl = gauge_device(session)
    load_rules(WATERLOGGING)
    # Above 15 for 9 minutes, a dip, then above again: the clock starts over at the dip.
    send(session, wl, "water_depth", (0, 16), (9, 16), (10, 14), (11, 16), (20, 16))
    assert alarms_of(session, wl) == []
    send(session, wl, "water_depth", (21, 16))
    assert len(alarms_of(session, wl)) == 1


def test_a_late_reading_is_stored_but_does_not_move_the_state_back(
    session: Session, load_rules: LoadRules
) -> None:
    wl = gauge_device(session)
    load_rules(WATERLOGGING)
    send(session, wl, "water_depth", (0, 16), (10, 16))
    send(session, wl, "water_depth", (4, 3), (6, 3))  # older than what was judged
    send(session, wl, "water_depth", (15, 8), (24, 8))
    assert alarms_of(session, wl)[0].status == AlarmStatus.ACTIVE


INSTANT = """
rules:
  - id: deep-water
    name: {zh: 深度积水, en: Deep water}
    type: flood.deep_water
    device_type: test-gauge
    when: water_depth > 30
    clear: water_depth < 20
    severity: critical
"""


def test_a_late_reading_that_would_have_fired_still_raises_its_alarm(
    session: Session, load_rules: LoadRules
) -> None:
    wl = gauge_device(session)
    load_rules(INSTANT)
    # Two ingesters committed the device's readings out of order: 35 cm at minute 5
    # arrives after the 12 cm of minute 10 was judged.
    send(session, wl, "water_depth", (0, 10), (10, 12))
    send(session, wl, "water_depth", (5, 35))
    [alarm] = alarms_of(session, wl)
    assert (alarm.value, alarm.status, alarm.cleared_by) == (35, AlarmStatus.CLEARED, "rule")
    # A late reading below the threshold changes nothing.
    send(session, wl, "water_depth", (7, 15))
    assert len(alarms_of(session, wl)) == 1


def test_rate_of_change(session: Session, load_rules: LoadRules) -> None:
    river = device(
        session, type_code="test-river", observes={"river_level": MEASUREMENT}, code="RV-1"
    )
    load_rules(
        """
rules:
  - id: river-rise
    name: {zh: 水位快速上涨, en: River rising}
    device_type: test-river
    when: rise of river_level > 0.5 in 30 min
    clear: rise of river_level < 0.2 in 30 min for 30 min
    severity: major
"""
    )
    send(session, river, "river_level", (0, 1.0), (10, 1.2), (20, 1.4))
    assert alarms_of(session, river) == []
    send(session, river, "river_level", (30, 1.6))  # 0.6 above the lowest of 30 minutes
    [alarm] = alarms_of(session, river)
    assert alarm.type == "river-rise"  # no type given: the rule's id
    send(session, river, "river_level", (60, 1.65), (90, 1.7))
    assert alarms_of(session, river)[0].status == AlarmStatus.CLEARED


def test_composite_conditions_read_the_devices_other_datastreams(
    session: Session, load_rules: LoadRules
) -> None:
    cover = cover_device(session)
    load_rules(
        """
rules:
  - id: cover-open
    name: {zh: 井盖异常, en: Cover open}
    device_type: test-cover
    when: cover_open == 1 or cover_tilt > 15
    clear: {all: ["cover_open == 0", "cover_tilt < 5"], for: 10 min}
    severity: major
"""
    )
    send(session, cover, "cover_open", (0, False))
    send(session, cover, "cover_tilt", (1, 3))
    assert alarms_of(session, cover) == []
    send(session, cover, "cover_tilt", (2, 20))
    assert len(alarms_of(session, cover)) == 1
    # Laid flat again but still open: not cleared; closed and flat for 10 min: cleared.
    send(session, cover, "cover_open", (3, True))
    send(session, cover, "cover_tilt", (4, 2), (20, 2))
    assert alarms_of(session, cover)[0].status == AlarmStatus.ACTIVE
    send(session, cover, "cover_open", (21, False))
    send(session, cover, "cover_tilt", (31, 1))
    assert alarms_of(session, cover)[0].status == AlarmStatus.CLEARED


def test_a_time_window_limits_when_a_rule_fires(session: Session, load_rules: LoadRules) -> None:
    site = device(session, type_code="test-site", observes={"noise": MEASUREMENT}, code="CS-1")
    load_rules(
        """
rules:
  - id: night-noise
    name: {zh: 夜间施工噪声, en: Night construction noise}
    device_type: test-site
    when: noise > 55 for 10 min
    during: "22:00-07:00"
    severity: minor
"""
    )
    # T0 is 16:00 in Shanghai: loud, but by day.
    send(session, site, "noise", (0, 60), (10, 62), (20, 61))
    assert alarms_of(session, site) == []
    # 23:00-23:10 Shanghai (15:00 UTC).
    send(session, site, "noise", (420, 60), (430, 61))
    [alarm] = alarms_of(session, site)
    # 07:00 comes and the window closes: the rule no longer holds, the alarm clears.
    send(session, site, "noise", (900, 60))
    assert alarm.status == AlarmStatus.CLEARED


def test_a_restarted_process_does_not_fire_again(session: Session, load_rules: LoadRules) -> None:
    wl = gauge_device(session)
    load_rules(WATERLOGGING)
    send(session, wl, "water_depth", (0, 16), (10, 16))
    # A new process: no compiled rules, nothing in memory; the state is in the database.
    forget_compiled_rules()
    session.expunge_all()
    state = session.scalar(select(RuleState).where(RuleState.thing_id == wl.thing.id))
    assert state is not None
    assert state.raised
    send(session, wl, "water_depth", (15, 17), (25, 18), (35, 19))
    [alarm] = alarms_of(session, wl)
    assert alarm.count == 1
    assert len(events(session, "alarm.raised")) == 1


def test_a_rule_cleared_by_hand_counts_new_firings_on_its_open_alarm(
    session: Session, load_rules: LoadRules
) -> None:
    smoke = device(
        session,
        type_code="test-smoke",
        observes={
            "smoke": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_TruthObservation"
        },
        code="SD-1",
    )
    load_rules(
        """
rules:
  - id: smoke
    name: {zh: 烟感报警, en: Smoke}
    device_type: test-smoke
    when: smoke == 1
    severity: critical
    auto_clear: false
"""
    )
    send(
        session, smoke, "smoke", (0, True), (1, False), (2, True), (3, True), (4, False), (5, True)
    )
    [alarm] = alarms_of(session, smoke)
    assert (alarm.status, alarm.count) == (AlarmStatus.ACTIVE, 3)
    assert len(events(session, "alarm.raised")) == 1


def test_silence_raises_and_the_next_reading_clears(
    session: Session, load_rules: LoadRules
) -> None:
    wl = gauge_device(session)
    quiet = gauge_device(session, code="WL-2")
    load_rules(
        """
rules:
  - id: gauge-silent
    name: {zh: 积水监测点离线, en: Gauge silent}
    type: device.no_data
    device_type: test-gauge
    when: no data for 3 intervals
    severity: minor
"""
    )
    long_ago = utcnow() - timedelta(minutes=16)
    session.execute(
        update(Thing).where(Thing.id.in_([wl.thing.id, quiet.thing.id])).values(created_at=long_ago)
    )
    send(session, wl, "water_depth", (0, 3))  # seen now
    assert check_silence(session) == 1
    assert check_silence(session) == 0  # raised already
    [alarm] = alarms_of(session, quiet)
    assert (alarm.type, alarm.value) == ("device.no_data", None)
    send(session, quiet, "water_depth", (0, 3))
    assert alarm.status == AlarmStatus.CLEARED
