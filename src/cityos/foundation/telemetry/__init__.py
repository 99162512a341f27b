"""IoT sensing (物联感知): the OGC SensorThings entities and device registry, telemetry in
(HTTP batches and MQTT), rollups for charts, rules judged on arrival and alarms."""

from __future__ import annotations

from pathlib import Path

from cityos.kernel.registry import Module

module = Module(
    name="telemetry",
    models=("cityos.foundation.telemetry.models",),
    migrations=Path(__file__).parent / "migrations",
)

__all__ = ["module"]
