"""Plans started by alarms counted over a window, and plan definitions checked against the
profile with the place of each fault named."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.domains.cases.models import Channel
from cityos.domains.cases.service import Intake, create_case
from cityos.foundation.telemetry.ingest import MEASUREMENT, Reading, ingest
from cityos.foundation.telemetry.rules import forget_compiled_rules
from cityos.kernel import profiles
from cityos.kernel.bus import Event, OutboxEvent
from cityos.kernel.bus.relay import drain
from cityos.kernel.clock import utcnow
from cityos.kernel.registry import Registry
from cityos.kernel.runtime import Runtime
from cityos.platforms.ioc.plans import triggers
from cityos.platforms.ioc.plans.models import PlanRun
from tests.factories.telemetry import device
from tests.platforms.ioc.plans.conftest import LUOHU, Command

GRID = "440303001001001"
RULES = """
rules:
  - id: waterlogging-warning
    name: {zh: 易涝点积水预警, en: Waterlogging warning}
    type: flood.waterlogging
    device_type: test-gauge
    when: water_depth > 15
    clear: water_depth < 10
    severity: major
"""


def _deliver(session: Session, seen: set[object]) -> None:
    """Hand each new ``alarm.raised`` event to the plan trigger, as the bus would."""
    for row in session.scalars(select(OutboxEvent).where(OutboxEvent.type == "alarm.raised")):
        if row.id not in seen:
            seen.add(row.id)
            triggers.on_alarm_raised(session, Event.of(row))


def test_three_waterlogging_alarms_within_half_an_hour_propose_the_plan(
    command: Command, registry: Registry, tmp_path: Path
) -> None:
    forget_compiled_rules()
    folder = tmp_path / "profile" / "packs" / "test"
    folder.mkdir(parents=True)
    (folder / "rules.yaml").write_text(RULES, encoding="utf-8")
    seen: set[object] = set()
    try:
        with command.runtime.unit_of_work() as session:
            gauges = [
                device(
                    session,
                    type_code="test-gauge",
                    observes={"water_depth": MEASUREMENT},
                    code=f"WL-P{n}",
                    region_code=GRID,
                )
                for n in range(3)
            ]
            profiles.load(
                session,
                root=tmp_path / "profile",
                registry=Registry((registry.by_name("telemetry"),)),
                settings=command.runtime.settings,
            )
            moment = utcnow() - timedelta(minutes=1)
            for n, gauge in enumerate(gauges):
                stream = gauge.streams["water_depth"].id
                ingest(
                    session,
                    [Reading(phenomenon_time=moment, result=22.0, datastream_id=stream)],
                )
                _deliver(session, seen)
                runs = list(session.scalars(select(PlanRun)))
                assert len(runs) == (1 if n == 2 else 0)
            (run,) = runs
            assert (run.status, run.level, run.plan_code) == ("proposed", "IV", "rainstorm")
            assert (run.trigger["alarm"], run.trigger["count"]) == ("flood.waterlogging", 3)
            assert run.area is not None
            assert run.area["type"] == "Point"
            # The bus delivers at least once: the same events again change nothing.
            seen.clear()
            _deliver(session, seen)
            assert len(list(session.scalars(select(PlanRun)))) == 1
    finally:
        forget_compiled_rules()


def _profile_with(tmp_path: Path, plans: str) -> Path:
    root = tmp_path / "profile"
    root.mkdir()
    for name in ("roles.yaml", "departments.yaml"):
        shutil.copy(LUOHU / name, root / name)
    (root / "packs" / "flood").mkdir(parents=True)
    (root / "packs" / "flood" / "plans.yaml").write_text(plans, encoding="utf-8")
    return root


def test_a_plan_naming_an_unknown_unit_or_role_is_refused_with_its_place(
    registry: Registry, tmp_path: Path
) -> None:
    plans = (LUOHU / "packs/flood/plans.yaml").read_text("utf-8")
    plans = plans.replace("department: traffic-police", "department: traffic-polise")
    plans = plans.replace("roles: [duty-officer, district-leader]}", "roles: [duty-oficer]}")
    root = _profile_with(tmp_path, plans)
    issues = profiles.validate(
        root,
        Registry(
            (registry.by_name("identity"), registry.by_name("workflow"), registry.by_name("plans"))
        ),
    )
    found = {(i.file, i.message) for i in issues}
    assert ("packs/flood/plans.yaml", "level III: unknown department 'traffic-polise'") in found
    assert ("packs/flood/plans.yaml", "level III: unknown role 'duty-oficer'") in found
    lines = {i.message: i.line for i in issues if i.file == "packs/flood/plans.yaml"}
    source = plans.splitlines()
    polise = lines["level III: unknown department 'traffic-polise'"]
    assert polise is not None
    assert "traffic-polise" in source[polise - 1]


def test_a_trigger_must_start_at_a_level_the_plan_has(registry: Registry, tmp_path: Path) -> None:
    root = _profile_with(
        tmp_path,
        """
plans:
  - id: heat
    name: {zh: 高温预案, en: Heat plan}
    triggers: [{warning: 高温红色预警, level: I}]
    levels:
      IV:
        tasks: [{department: health, do: {zh: 巡查, en: Patrol}, within: 2 hours}]
  - id: cold
    name: {zh: 寒潮预案, en: Cold plan}
    triggers: [{manual: true}]
    levels:
      IV:
        tasks: [{department: health, do: {zh: 巡查, en: Patrol}, within: 2 working hours}]
""",
    )
    issues = profiles.validate(
        root, Registry((registry.by_name("identity"), registry.by_name("plans")))
    )
    messages = " ".join(i.message for i in issues)
    assert "level I, which has no entry" in messages
    assert "calendar time, not working time" in messages


def test_five_waterlogging_reports_within_the_hour_propose_the_plan(
    runtime: Runtime, registry: Registry
) -> None:
    with runtime.unit_of_work() as session:
        profiles.load(
            session, root=profiles.resolve("luohu"), registry=registry, settings=runtime.settings
        )
        for n in range(5):
            create_case(
                session,
                actor=None,
                intake=Intake(
                    channel=Channel.HOTLINE,
                    description=f"文锦路下穿通道积水，车辆无法通行（模拟来电 {n}）",
                    category_code="1505",
                    lon=114.125 + n * 0.001,
                    lat=22.548,
                ),
            )
            session.flush()
            drain(runtime, limit=1000)
            runs = list(session.scalars(select(PlanRun)))
            assert len(runs) == (1 if n == 4 else 0)
        (run,) = runs
        assert (run.status, run.level) == ("proposed", "IV")
        assert (run.trigger["kind"], run.trigger["category"], run.trigger["count"]) == (
            "cases",
            "1505",
            5,
        )
