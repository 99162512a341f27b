"""One-stop government services (一网通办): the service-item catalogue (事项清单) so far;
applications, bundles, e-licences and ratings follow (issue 8)."""

from __future__ import annotations

from pathlib import Path

from cityos.domains.onestop import api
from cityos.domains.onestop.catalogue import items_section
from cityos.kernel.registry import Module

module = Module(
    name="onestop",
    models=("cityos.domains.onestop.models",),
    migrations=Path(__file__).parent / "migrations",
    routers=(api.router,),
    profile_sections=(items_section,),
    messages=api.MESSAGES,
)

__all__ = ["module"]
