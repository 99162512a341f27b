"""City cases (城区社会事件统一监管: 12345 and 数字城管): every problem that reaches the
district becomes one case, handled through the workflow engine's ``case`` workflow."""

from __future__ import annotations

from pathlib import Path

from cityos.domains.cases.alarms import on_alarm_raised
from cityos.domains.cases.api import PERMISSIONS
from cityos.domains.cases.api import router as api_router
from cityos.domains.cases.cli import cli
from cityos.domains.cases.evaluation import evaluation_section
from cityos.domains.cases.evaluation_api import PERMISSIONS as EVALUATION_PERMISSIONS
from cityos.domains.cases.evaluation_api import router as evaluation_router
from cityos.domains.cases.messages import MESSAGES
from cityos.domains.cases.notices import on_case_step, on_duplicate_closed
from cityos.domains.cases.open311 import router as open311_router
from cityos.domains.cases.profile import categories_section, routing_section
from cityos.kernel.registry import Module

module = Module(
    name="cases",
    models=("cityos.domains.cases.models",),
    migrations=Path(__file__).parent / "migrations",
    profile_sections=(categories_section, routing_section, evaluation_section),
    routers=(evaluation_router, api_router),
    root_routers=(open311_router,),
    permissions={**PERMISSIONS, **EVALUATION_PERMISSIONS},
    # Titles of the cases' refusals, in the caller's language (the detail says which).
    messages=MESSAGES,
    event_handlers=(
        ("case.duplicate_closed", on_duplicate_closed),
        ("case.*", on_case_step),
        ("alarm.raised", on_alarm_raised),
    ),
    cli=cli,
    cli_name="cases",
)

__all__ = ["module"]
