"""Workflow definitions in a district profile: ``workflows/*.yaml`` and each pack's
``packs/*/workflow*.yaml``, one definition per file, checked against the profile's roles."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cityos.foundation.workflow.definition import WorkflowDef
from cityos.foundation.workflow.models import WorkflowDefinition
from cityos.foundation.workflow.service import register_definition
from cityos.kernel.profiles import ProfileContext, ProfileDocuments, ProfileIssue
from cityos.kernel.registry import ProfileSection


def _check(documents: ProfileDocuments) -> list[ProfileIssue]:
    """Every role a definition names is a role of the profile; ids are not reused."""
    known: set[str] = set()
    for file in documents.earlier.get("roles", []):
        known |= {role.id for role in getattr(file.document, "roles", [])}
    issues: list[ProfileIssue] = []
    seen: dict[tuple[str, int], str] = {}
    for file in documents.files:
        definition = file.document
        assert isinstance(definition, WorkflowDef)
        key = (definition.id, definition.version)
        if key in seen:
            issues.append(
                ProfileIssue(
                    file.relative,
                    file.line_of(("version",)),
                    definition.id,
                    f"version {definition.version} is also defined in {seen[key]}",
                )
            )
        seen[key] = file.relative
        for role in sorted(definition.roles() - known):
            issues.append(
                ProfileIssue(file.relative, None, definition.id, f"unknown role {role!r}")
            )
    return issues


def _load(session: Session, context: ProfileContext, documents: list[Any]) -> None:
    for definition in documents:
        assert isinstance(definition, WorkflowDef)
        known = session.get(WorkflowDefinition, (definition.id, definition.version))
        register_definition(session, definition)
        if known is None:
            context.count("workflows")


workflows_section = ProfileSection(
    name="workflows",
    files=("workflows/*.yaml", "packs/*/workflow*.yaml"),
    schema=WorkflowDef,
    load=_load,
    order=150,
    required=False,
    check=_check,
)
