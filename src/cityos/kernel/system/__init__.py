"""The platform itself: health, readiness, metrics, metadata and the district's own row."""

from __future__ import annotations

from pathlib import Path

from cityos.kernel.registry import Module
from cityos.kernel.system.api import api, probes
from cityos.kernel.system.profile import district_section
from cityos.kernel.system.service import district_calendar

module = Module(
    name="system",
    models=("cityos.kernel.system.models",),
    routers=(api,),
    root_routers=(probes,),
    migrations=Path(__file__).parent / "migrations",
    profile_sections=(district_section,),
)

__all__ = ["district_calendar", "module"]
