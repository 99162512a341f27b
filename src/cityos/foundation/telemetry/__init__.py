"""IoT sensing (物联感知): the OGC SensorThings entities and device registry, telemetry in
(HTTP batches and MQTT), rollups for charts, rules judged on arrival and alarms."""

from __future__ import annotations

from pathlib import Path

from cityos.foundation.telemetry import (
    alarms_api,
    devices,
    devices_api,
    ingest_api,
    rules,
    rules_api,
    sta,
)
from cityos.foundation.telemetry.alarms import ESCALATE_JOB, attach_case, escalate_job
from cityos.foundation.telemetry.devices_cli import cli as devices_cli
from cityos.foundation.telemetry.ingest import register_arrival_hook
from cityos.foundation.telemetry.packs import device_types_section, devices_section
from cityos.foundation.telemetry.retention import RETENTION_JOB, retention_job
from cityos.foundation.telemetry.rollups import FOLD_EVERY, ROLLUP_JOB, rollup_job
from cityos.foundation.telemetry.simulate_cli import simulate_cli
from cityos.kernel.registry import Module

register_arrival_hook(rules.on_arrival)

module = Module(
    name="telemetry",
    models=("cityos.foundation.telemetry.models", "cityos.foundation.telemetry.alarm_models"),
    migrations=Path(__file__).parent / "migrations",
    extra_cli=(("simulate", simulate_cli), ("devices", devices_cli)),
    routers=(alarms_api.router, rules_api.router, devices_api.router, ingest_api.router),
    root_routers=(sta.router,),
    profile_sections=(device_types_section, devices_section, rules.rules_section),
    jobs={
        rules.SILENCE_JOB: rules.silence_job,
        ESCALATE_JOB: escalate_job,
        devices.STATUS_JOB: devices.status_job,
        RETENTION_JOB: retention_job,
        ROLLUP_JOB: rollup_job,
    },
    timers={ROLLUP_JOB: FOLD_EVERY},
    permissions={**alarms_api.PERMISSIONS, **sta.PERMISSIONS, **devices_api.PERMISSIONS},
    messages={
        **alarms_api.MESSAGES,
        **rules_api.MESSAGES,
        **devices.MESSAGES,
        **ingest_api.MESSAGES,
        **sta.MESSAGES,
    },
)

__all__ = ["attach_case", "module"]
