"""Contingency plans in a district profile: ``packs/*/plans.yaml``.

Checked against the profile, with the file, line and plan named: plan ids unique across
packs; every department a task names exists (``departments.yaml``); every role a level
notifies exists (``roles.yaml``); the plan's region exists (the geo regions). The loader
upserts plans by id and retires the ones the profile dropped (their past runs stay).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy.orm import Session

from cityos.kernel.profiles import (
    ProfileContext,
    ProfileDocuments,
    ProfileIssue,
    sync_by_code,
)
from cityos.kernel.registry import ProfileSection
from cityos.platforms.ioc.plans.definition import PlansFile
from cityos.platforms.ioc.plans.models import Plan


def _departments(documents: ProfileDocuments) -> set[str] | None:
    from cityos.foundation.identity.profile import walk

    codes: set[str] = set()
    for file in documents.earlier.get("departments", []):
        codes |= {entry.code for entry, _ in walk(getattr(file.document, "departments", []))}
    return codes or None


def _roles(documents: ProfileDocuments) -> set[str] | None:
    codes = {
        role.id
        for file in documents.earlier.get("roles", [])
        for role in getattr(file.document, "roles", [])
    }
    return codes or None


def _regions(documents: ProfileDocuments) -> set[str] | None:
    codes = {
        feature.properties.code
        for file in documents.earlier.get("geo-regions", [])
        for feature in getattr(file.document, "features", [])
    }
    return codes or None


def _check(documents: ProfileDocuments) -> list[ProfileIssue]:
    departments, roles, regions = (
        _departments(documents),
        _roles(documents),
        _regions(documents),
    )
    issues: list[ProfileIssue] = []
    seen: dict[str, str] = {}
    for file in documents.files:
        assert isinstance(file.document, PlansFile)
        for i, plan in enumerate(file.document.plans):
            where = ("plans", i)
            if plan.id in seen:
                issues.append(
                    ProfileIssue(
                        file.relative,
                        file.line_of((*where, "id")),
                        plan.id,
                        f"plan id {plan.id!r} is already used in {seen[plan.id]}",
                    )
                )
            seen.setdefault(plan.id, file.relative)
            if regions is not None and plan.region not in regions:
                issues.append(
                    ProfileIssue(
                        file.relative,
                        file.line_of((*where, "region")),
                        plan.id,
                        f"unknown region {plan.region!r}",
                    )
                )
            for level, declared in plan.levels.items():
                for t, task in enumerate(declared.tasks):
                    if departments is not None and task.department not in departments:
                        issues.append(
                            ProfileIssue(
                                file.relative,
                                file.line_of((*where, "levels", level, "tasks", t, "department")),
                                plan.id,
                                f"level {level}: unknown department {task.department!r}",
                            )
                        )
                for n, wanted in enumerate(declared.notify):
                    for role in wanted.roles:
                        if roles is not None and role not in roles:
                            issues.append(
                                ProfileIssue(
                                    file.relative,
                                    file.line_of((*where, "levels", level, "notify", n)),
                                    plan.id,
                                    f"level {level}: unknown role {role!r}",
                                )
                            )
    return issues


def _load(session: Session, context: ProfileContext, documents: list[Any]) -> None:
    wanted: dict[str, dict[str, Any]] = {}
    for file, document in zip(context.files, documents, strict=True):
        assert isinstance(document, PlansFile)
        pack = PurePosixPath(str(file)).parent.name
        for plan in document.plans:
            stored = plan.model_dump(mode="json", exclude_none=True)
            digest = hashlib.sha256(
                json.dumps(stored, sort_keys=True, ensure_ascii=False).encode()
            ).hexdigest()
            wanted[plan.id] = {
                "name_zh": plan.name.zh,
                "name_en": plan.name.en,
                "kind": plan.kind,
                "region_code": plan.region,
                "pack": pack,
                "document": stored,
                "content_hash": digest,
            }
    sync_by_code(session, Plan, wanted, context=context, counter="plans")


# After the departments, roles and regions it is checked against, and the workflows (the
# plan-task workflow its tasks run on).
plans_section = ProfileSection(
    name="ioc-plans",
    files=("packs/*/plans.yaml",),
    schema=PlansFile,
    load=_load,
    order=320,
    required=False,
    check=_check,
)
