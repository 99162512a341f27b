"""IoT sensing (物联感知): the OGC SensorThings entities and device registry, telemetry in
(HTTP batches and MQTT), rollups for charts, rules judged on arrival and alarms."""

from __future__ import annotations

from pathlib import Path

from cityos.foundation.telemetry.simulate_cli import simulate_cli
from cityos.kernel.registry import Module

module = Module(
    name="telemetry",
    models=("cityos.foundation.telemetry.models",),
    migrations=Path(__file__).parent / "migrations",
    extra_cli=(("simulate", simulate_cli),),
)

__all__ = ["module"]
