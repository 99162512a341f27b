"""The Intelligent Operations Center (IOC, 智能运营中心): the district's command screen:
its live event stream, its KPI tiles and its reports. Contingency plans, the linkage
engine, are the ``plans`` module inside it."""

from __future__ import annotations

from pathlib import Path

from cityos.kernel.registry import Module
from cityos.platforms.ioc import kpis_api, live, reports, reports_api
from cityos.platforms.ioc.kpis import MESSAGES as KPI_MESSAGES

module = Module(
    name="ioc",
    models=("cityos.platforms.ioc.models",),
    migrations=Path(__file__).parent / "migrations",
    jobs={reports.DAILY_JOB: reports.daily_report_job},
    timers={reports.DAILY_JOB: reports.DAILY_EVERY},
    routers=(live.router, kpis_api.router, reports_api.router),
    permissions={**live.PERMISSIONS, **kpis_api.PERMISSIONS, **reports_api.PERMISSIONS},
    messages={**KPI_MESSAGES, **reports_api.MESSAGES},
)

__all__ = ["module"]
