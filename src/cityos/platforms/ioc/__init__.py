"""The Intelligent Operations Center (IOC, 智能运营中心): the district's command screen.
Its live event stream and its KPI tiles; plans and linkage follow (issue 7)."""

from __future__ import annotations

from cityos.kernel.registry import Module
from cityos.platforms.ioc import kpis_api, live
from cityos.platforms.ioc.kpis import MESSAGES as KPI_MESSAGES

module = Module(
    name="ioc",
    routers=(live.router, kpis_api.router),
    permissions={**live.PERMISSIONS, **kpis_api.PERMISSIONS},
    messages=KPI_MESSAGES,
)

__all__ = ["module"]
