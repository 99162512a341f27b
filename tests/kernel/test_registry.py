"""The module registry: what modules contribute, and loud failures when they clash."""

from __future__ import annotations

import sys
import types

import pytest
import typer
from fastapi import APIRouter

from cityos.kernel.registry import Module, Registry, RegistryError, build_registry


def fake_module(dotted: str, module: object) -> None:
    package = types.ModuleType(dotted)
    package.module = module  # type: ignore[attr-defined]
    sys.modules[dotted] = package


def test_the_installed_modules_declare_their_parts(registry: Registry) -> None:
    names = [m.name for m in registry.modules]
    assert names[:2] == ["system", "calendar"]
    assert "identity" in names
    assert all(path.is_dir() for path in registry.migration_locations())
    sections = [s.name for s in registry.profile_sections()]
    assert sections.index("district") < sections.index("departments")


def test_two_modules_with_one_name_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_module("fake_a", Module(name="same"))
    fake_module("fake_b", Module(name="same"))
    with pytest.raises(RegistryError, match="used twice"):
        build_registry(["fake_a", "fake_b"])


def test_a_job_declared_twice_is_refused() -> None:
    def handler(session: object, payload: dict[str, object]) -> None:
        return None

    registry = Registry(
        (Module(name="a", jobs={"x": handler}), Module(name="b", jobs={"x": handler}))
    )
    with pytest.raises(RegistryError, match="job 'x'"):
        registry.jobs()


def test_a_module_without_a_declaration_is_refused() -> None:
    sys.modules["fake_empty"] = types.ModuleType("fake_empty")
    with pytest.raises(RegistryError, match="cannot load module 'fake_empty'"):
        build_registry(["fake_empty"])
    fake_module("fake_wrong", APIRouter())
    with pytest.raises(RegistryError, match="not a cityos Module"):
        build_registry(["fake_wrong"])


def test_command_groups_include_extra_ones_and_refuse_a_clash() -> None:
    first, second, third = typer.Typer(), typer.Typer(), typer.Typer()
    registry = Registry(
        (
            Module(name="a", cli=first, cli_name="auth", extra_cli=(("keys", second),)),
            Module(name="b", cli=third),
        )
    )
    assert registry.command_groups() == [("auth", first), ("keys", second), ("b", third)]
    clash = Registry((Module(name="a", cli=first), Module(name="b", extra_cli=(("a", second),))))
    with pytest.raises(RegistryError, match="command group 'a'"):
        clash.command_groups()
