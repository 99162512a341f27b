"""The Luohu profile's community workstations (社区工作站): one per community of the geography,
under the office of its subdistrict, made by ``scripts/generate_luohu_workstations.py``."""

from __future__ import annotations

import importlib.util
import json
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.geo.models import Region
from cityos.foundation.identity.models import Department
from cityos.foundation.identity.profile import departments_section, roles_section
from cityos.kernel import profiles
from cityos.kernel.profiles import ProfileContext, parse_file
from cityos.kernel.registry import Registry
from cityos.settings import Settings

LUOHU = profiles.PROFILES_DIR / "luohu"
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "generate_luohu_workstations.py"


@cache
def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_luohu_workstations", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _communities() -> dict[str, Any]:
    text = (LUOHU / "geo" / "communities.geojson").read_text(encoding="utf-8")
    return dict(json.loads(text))


def _snapshot(session: Session) -> dict[str, tuple[Any, ...]]:
    return {
        d.code: (d.id, d.parent_id, d.name_zh, d.name_en, d.kind, d.region_code, d.sort)
        for d in session.scalars(select(Department))
    }


def test_every_community_has_one_workstation_under_its_subdistrict_office(
    session: Session, registry: Registry, settings: Settings
) -> None:
    profiles.load(session, root=profiles.resolve("luohu"), registry=registry, settings=settings)
    communities = {
        r.code: r for r in session.scalars(select(Region).where(Region.level == "community"))
    }
    assert len(communities) == len(_communities()["features"]) > 0
    departments = list(session.scalars(select(Department)))
    by_id = {d.id: d for d in departments}
    offices = {d.region_code: d for d in departments if d.kind == "subdistrict-office"}
    assert len(offices) == 10
    stations = [d for d in departments if d.kind == "community-station"]

    for code, community in communities.items():
        mine = [d for d in stations if d.region_code == code]
        assert len(mine) == 1, code
        (station,) = mine
        assert station.code == f"ws-{code}"
        assert station.parent_id is not None
        parent = by_id[station.parent_id]
        assert parent is offices[community.parent_code]
        assert parent.region_code == code[:9]
        assert station.name_zh.endswith("社区工作站")
        assert "社区社区" not in station.name_zh
        assert station.name_zh.removesuffix("工作站") == community.name_zh
        assert station.name_en.endswith(" Community Workstation")
    # …and no workstation without a community.
    assert sorted(d.region_code or "" for d in stations) == sorted(communities)


def test_loading_twice_changes_nothing(
    session: Session, registry: Registry, settings: Settings
) -> None:
    root = profiles.resolve("luohu")
    profiles.load(session, root=root, registry=registry, settings=settings)
    before = _snapshot(session)
    assert sum(1 for d in before.values() if d[4] == "community-station") == len(
        _communities()["features"]
    )

    # Past the content-hash shortcut: run the sections themselves again.
    context = ProfileContext(name="luohu", root=root, settings=settings)
    for section in (roles_section, departments_section):
        parsed, _ = parse_file(root / section.files[0], root)
        assert parsed is not None
        section.load(session, context, [section.schema.model_validate(parsed.data)])
    session.flush()

    assert "departments" not in context.summary
    assert "demo_accounts" not in context.summary
    assert _snapshot(session) == before
    assert not profiles.load(session, root=root, registry=registry, settings=settings).changed


def test_the_shipped_file_is_what_the_generator_makes() -> None:
    text = (LUOHU / "departments.yaml").read_text(encoding="utf-8")
    assert _generator().render(text, _communities()) == text


def test_the_generator_rewrites_only_its_blocks() -> None:
    generator = _generator()
    text = (LUOHU / "departments.yaml").read_text(encoding="utf-8")
    communities = _communities()
    # Without the generated blocks, it puts them back where they were.
    bare = "".join(generator._strip_generated(text.splitlines(keepends=True)))
    assert "community-station" not in bare
    assert generator.render(bare, communities) == text
    # A renamed community renames its workstation and nothing else.
    first = communities["features"][0]["properties"]
    first["name_zh"], first["name_en"] = "新: 名字", ""
    changed = generator.render(text, communities).splitlines()
    diff = [(a, b) for a, b in zip(text.splitlines(), changed, strict=True) if a != b]
    assert diff == [
        (
            diff[0][0],
            f'          - {{code: ws-{first["code"]}, name: {{zh: "新: 名字社区工作站", '
            f"en: Community Workstation {first['code']}}}, "
            f'kind: community-station, region: "{first["code"]}"}}',
        )
    ]


def test_the_generator_refuses_a_community_without_office() -> None:
    generator = _generator()
    text = (LUOHU / "departments.yaml").read_text(encoding="utf-8")
    communities = _communities()
    communities["features"].append(
        {"type": "Feature", "properties": {"code": "440303011001", "name_zh": "远方社区"}}
    )
    with pytest.raises(generator.GenerationError, match="440303011"):
        generator.render(text, communities)
