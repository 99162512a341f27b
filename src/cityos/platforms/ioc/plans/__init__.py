"""Contingency plans (应急预案) and their runs: the IOC's linkage engine.

Plans are data in the profile (``packs/*/plans.yaml``, see ``definition.py``); a run is
started by a duty officer, by alarms counted over a window, or by an external warning
posted in (``triggers.py``); its linked tasks are ``plan-task`` workflow instances in each
unit's unified inbox (``service.py``); ``/api/v1/plans`` is the duty officer's face.
"""

from __future__ import annotations

from pathlib import Path

from cityos.foundation.notify import Template, register_template
from cityos.kernel.registry import Module
from cityos.platforms.ioc.plans import api, service, triggers
from cityos.platforms.ioc.plans.profile import plans_section
from cityos.platforms.ioc.plans.resources import resources_section

LEVEL_REACHED = Template(
    code="plan-level-reached",
    title={"zh-CN": "应急预案启动{drill}", "en": "Contingency plan started{drill}"},
    body={
        "zh-CN": "《{plan}》已进入{level}，请按预案职责做好响应。",
        "en": "{plan} has reached {level}; please respond as the plan assigns.",
    },
    sms=True,
)
register_template(LEVEL_REACHED)

module = Module(
    name="plans",
    models=("cityos.platforms.ioc.plans.models",),
    migrations=Path(__file__).parent / "migrations",
    routers=(api.router,),
    profile_sections=(plans_section, resources_section),
    event_handlers=(
        ("alarm.raised", triggers.on_alarm_raised),
        ("case.created", triggers.on_case_event),
        ("case.register", triggers.on_case_event),
    ),
    permissions=api.PERMISSIONS,
    messages=api.MESSAGES,
)

__all__ = ["module", "service", "triggers"]
