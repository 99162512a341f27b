"""The module registry: each module declares what it contributes, in one place.

A module's ``__init__.py`` exposes ``module = Module(...)``; the app, the CLI, Alembic, the
profile loader, the job runner and the bus read the registry, never the modules directly.
Modules are listed in ``cityos.modules.INSTALLED``; third-party packs add theirs through the
``cityos.modules`` entry-point group.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer
    from fastapi import APIRouter
    from pydantic import BaseModel
    from sqlalchemy.orm import Session

    from cityos.kernel.profiles import ProfileContext, ProfileDocuments, ProfileIssue


JobHandler = Callable[["Session", dict[str, Any]], None]
EventHandler = Callable[["Session", "Any"], None]


@dataclass(frozen=True)
class ProfileSection:
    """A part of a district profile that one module validates and loads.

    ``files`` are paths relative to the profile folder (glob patterns allowed). ``schema``
    validates each file's parsed YAML/JSON/CSV; ``check``, if given, then looks across the
    section's files and the earlier sections' for faults no single file shows, and returns
    them; ``load`` writes the validated data, idempotently, inside the loader's single
    transaction. ``order`` sorts sections (lower loads, and is checked, first).
    """

    name: str
    files: tuple[str, ...]
    schema: type[BaseModel]
    load: Callable[[Session, ProfileContext, list[Any]], None]
    order: int = 100
    required: bool = True
    check: Callable[[ProfileDocuments], list[ProfileIssue]] | None = None


@dataclass(frozen=True)
class Module:
    """What one module contributes to the platform."""

    name: str
    models: tuple[str, ...] = ()
    routers: tuple[APIRouter, ...] = ()
    root_routers: tuple[APIRouter, ...] = ()
    migrations: Path | None = None
    cli: typer.Typer | None = None
    cli_name: str | None = None
    # Further top-level command groups (name, app), for names others rely on
    # (``cityos apikeys`` beside ``cityos auth``).
    extra_cli: tuple[tuple[str, typer.Typer], ...] = ()
    profile_sections: tuple[ProfileSection, ...] = ()
    jobs: dict[str, JobHandler] = field(default_factory=dict)
    # Recurring timers every worker process makes sure exist: job name -> period in seconds.
    timers: dict[str, int] = field(default_factory=dict)
    event_handlers: tuple[tuple[str, EventHandler], ...] = ()
    messages: dict[str, dict[str, str]] = field(default_factory=dict)
    permissions: dict[str, dict[str, str]] = field(default_factory=dict)


class RegistryError(RuntimeError):
    """Two modules clash, or a module cannot be loaded."""


@dataclass(frozen=True)
class Registry:
    modules: tuple[Module, ...]

    def by_name(self, name: str) -> Module:
        for module in self.modules:
            if module.name == name:
                return module
        raise KeyError(name)

    def import_models(self) -> None:
        """Import every module's models so their tables join ``Base.metadata``."""
        for module in self.modules:
            for dotted in module.models:
                importlib.import_module(dotted)

    def migration_locations(self) -> list[Path]:
        return [m.migrations for m in self.modules if m.migrations is not None]

    def profile_sections(self) -> list[ProfileSection]:
        sections = [s for m in self.modules for s in m.profile_sections]
        return sorted(sections, key=lambda s: (s.order, s.name))

    def jobs(self) -> dict[str, JobHandler]:
        handlers: dict[str, JobHandler] = {}
        for module in self.modules:
            for name, handler in module.jobs.items():
                if name in handlers:
                    raise RegistryError(f"job {name!r} is declared by two modules")
                handlers[name] = handler
        return handlers

    def timers(self) -> dict[str, int]:
        """Every module's recurring timers (job name -> period in seconds)."""
        return {name: every for m in self.modules for name, every in m.timers.items()}

    def event_handlers(self) -> list[tuple[str, EventHandler]]:
        return [pair for m in self.modules for pair in m.event_handlers]

    def command_groups(self) -> list[tuple[str, typer.Typer]]:
        """Every module's top-level ``cityos`` command groups, as (name, app)."""
        groups: dict[str, typer.Typer] = {}
        for module in self.modules:
            declared = list(module.extra_cli)
            if module.cli is not None:
                declared.insert(0, (module.cli_name or module.name, module.cli))
            for name, commands in declared:
                if name in groups:
                    raise RegistryError(f"command group {name!r} is declared by two modules")
                groups[name] = commands
        return list(groups.items())

    def permissions(self) -> dict[str, dict[str, str]]:
        """Every permission the modules declare (name → zh/en description)."""
        declared: dict[str, dict[str, str]] = {}
        for module in self.modules:
            for name, description in module.permissions.items():
                if name in declared:
                    raise RegistryError(f"permission {name!r} is declared by two modules")
                declared[name] = description
        return declared


def build_registry(dotted_paths: Iterable[str]) -> Registry:
    """Import each dotted path and collect its ``module`` attribute."""
    modules: list[Module] = []
    seen: set[str] = set()
    for dotted in dotted_paths:
        try:
            declared = importlib.import_module(dotted).module
        except (ImportError, AttributeError) as exc:
            raise RegistryError(f"cannot load module {dotted!r}: {exc}") from exc
        if not isinstance(declared, Module):
            raise RegistryError(f"{dotted}.module is not a cityos Module")
        if declared.name in seen:
            raise RegistryError(f"module name {declared.name!r} is used twice")
        seen.add(declared.name)
        modules.append(declared)
    return Registry(tuple(modules))


@lru_cache(maxsize=1)
def get_registry() -> Registry:
    """The installed modules: ours first, then entry-point plug-ins."""
    from cityos.modules import INSTALLED

    plugins = [ep.value for ep in entry_points(group="cityos.modules")]
    return build_registry([*INSTALLED, *plugins])
