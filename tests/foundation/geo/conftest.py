"""The geo engine's test profile: a small district loaded through the kernel's profile loader.

``fixtures/profile/geo`` holds district 440303 (测试区) with 2 subdistricts, 4 communities and
8 grids (the boundary between the subdistricts has a kink), 48 standard addresses, a point
layer (landmarks, two of them at one spot) and a polygon layer (parks).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from cityos.kernel import profiles
from cityos.kernel.registry import Registry
from cityos.settings import Settings

FIXTURE_PROFILE = Path(__file__).parent / "fixtures" / "profile"
LUOHU_GEO = profiles.PROFILES_DIR / "luohu" / "geo"


@pytest.fixture(scope="session")
def geo_registry(registry: Registry) -> Registry:
    """A registry of the geo module alone, so a profile needs only its ``geo/`` folder."""
    return Registry((registry.by_name("geo"),))


@pytest.fixture
def geo_profile(tmp_path: Path) -> Path:
    """A private copy of the test profile that a test may change."""
    root = tmp_path / "testprofile"
    shutil.copytree(FIXTURE_PROFILE, root)
    return root


@pytest.fixture
def geo_loaded(session: Session, geo_registry: Registry, settings: Settings) -> Session:
    """The session, with the test profile loaded (rolled back when the test ends)."""
    profiles.load(session, root=FIXTURE_PROFILE, registry=geo_registry, settings=settings)
    return session


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
