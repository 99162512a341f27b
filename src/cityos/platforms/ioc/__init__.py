"""The Intelligent Operations Center (IOC, 智能运营中心): the district's command screen.
For now its live event stream; plans, linkage and the screen's data follow (issue 7)."""

from __future__ import annotations

from cityos.kernel.registry import Module
from cityos.platforms.ioc.live import PERMISSIONS
from cityos.platforms.ioc.live import router as live_router

module = Module(name="ioc", routers=(live_router,), permissions=PERMISSIONS)

__all__ = ["module"]
