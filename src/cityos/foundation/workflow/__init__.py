"""The workflow engine: definitions as data (``definition``), instances with an immutable
history and deadlines in working time (``service``), timers and escalation (``jobs``),
and the unified inbox (``inbox``, ``api``) that every workflow's tasks appear in."""

from __future__ import annotations

from pathlib import Path

from cityos.foundation.workflow.api import PERMISSIONS
from cityos.foundation.workflow.api import router as api_router
from cityos.foundation.workflow.definition import DefinitionError, Duration, WorkflowDef
from cityos.foundation.workflow.jobs import run_timer
from cityos.foundation.workflow.models import WorkflowDefinition, WorkflowEvent, WorkflowInstance
from cityos.foundation.workflow.profile import workflows_section
from cityos.foundation.workflow.service import (
    SYSTEM_ACTOR,
    TIMER_JOB,
    Assignment,
    Step,
    SubjectHooks,
    act,
    available_actions,
    definition_for,
    definition_of,
    history,
    register_assignment_rule,
    register_definition,
    register_subject,
    start,
    system_act,
)
from cityos.kernel.registry import Module

module = Module(
    name="workflow",
    models=("cityos.foundation.workflow.models",),
    migrations=Path(__file__).parent / "migrations",
    routers=(api_router,),
    profile_sections=(workflows_section,),
    jobs={TIMER_JOB: run_timer},
    permissions=PERMISSIONS,
    # Titles of the engine's refusals, in the caller's language (the detail says which).
    messages={
        "action_not_allowed": {
            "zh-CN": "当前环节不能办理此操作",
            "en": "This action cannot be taken at this step",
        },
        "action_forbidden": {"zh-CN": "您无权办理此操作", "en": "You may not take this action"},
        "stale_version": {
            "zh-CN": "该事项已被他人办理，请刷新后重试",
            "en": "Someone acted on this item since you opened it; reload it",
        },
        "concurrent_action": {
            "zh-CN": "该事项正被他人同时办理，请刷新后重试",
            "en": "Someone acted on this item at the same moment; reload it",
        },
        "step_incomplete": {
            "zh-CN": "办理此操作还缺少必填内容或附件",
            "en": "This action needs more fields or attachments",
        },
        "task_not_found": {"zh-CN": "该待办不存在或不归您办理", "en": "No such task for you"},
        "workflow_not_found": {"zh-CN": "流程不存在", "en": "No such workflow"},
        "assignee_invalid": {"zh-CN": "指定的办理人无效", "en": "The assignee is not a user"},
        "department_unknown": {
            "zh-CN": "没有这个部门，请从列表中选择",
            "en": "No such department; choose one from the list",
        },
        "workflow_version_exists": {
            "zh-CN": "该流程版本已存在且内容不同，请使用新版本号",
            "en": "This workflow version exists with other content; use a new version",
        },
    },
)

__all__ = [
    "SYSTEM_ACTOR",
    "Assignment",
    "DefinitionError",
    "Duration",
    "Step",
    "SubjectHooks",
    "WorkflowDef",
    "WorkflowDefinition",
    "WorkflowEvent",
    "WorkflowInstance",
    "act",
    "available_actions",
    "definition_for",
    "definition_of",
    "history",
    "module",
    "register_assignment_rule",
    "register_definition",
    "register_subject",
    "start",
    "system_act",
]
