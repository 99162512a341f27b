"""The modules this platform runs, in load order (dependencies first)."""

INSTALLED: tuple[str, ...] = (
    "cityos.kernel.system",
    "cityos.kernel.calendar",
    "cityos.kernel.bus",
    "cityos.kernel.jobs",
    "cityos.kernel.files",
    "cityos.foundation.identity",
    "cityos.foundation.privacy",
    "cityos.foundation.audit",
    "cityos.foundation.geo",
    "cityos.foundation.notify",
    "cityos.foundation.workflow",
    "cityos.foundation.telemetry",
    "cityos.domains.cases",
    "cityos.domains.onestop",
    "cityos.platforms.ioc",
    "cityos.platforms.ioc.plans",
)
