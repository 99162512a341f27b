"""The OGC SensorThings API v1.1 over the telemetry tables, mounted at ``/sta/v1.1``."""

from __future__ import annotations

from cityos.foundation.telemetry.sta.api import MESSAGES, PERMISSIONS, router

__all__ = ["MESSAGES", "PERMISSIONS", "router"]
